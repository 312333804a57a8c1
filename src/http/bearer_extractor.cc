#include "http/bearer_extractor.h"

#include <cctype>

namespace authgate {

std::optional<std::string_view> BearerToken(std::string_view field_value) {
  constexpr std::string_view kScheme = "bearer";
  if (field_value.size() <= kScheme.size() + 1) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(field_value[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view rest = field_value.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty() || rest.find(' ') != std::string_view::npos) return std::nullopt;
  return rest;
}

RequestCredentials ExtractCredentials(const HttpRequest& request) {
  using Presence = RequestCredentials::TokenPresence;
  RequestCredentials credentials;
  const HttpRequest::FieldValues authorization = request.Find("Authorization");
  if (authorization.count == 1) {
    std::optional<std::string_view> token = BearerToken(authorization.first);
    credentials.presence = token ? Presence::kBearer : Presence::kMalformed;
    if (token) credentials.token = *token;
  } else if (authorization.count > 1) {
    credentials.presence = Presence::kMalformed;  // which one would a proxy have checked?
  }
  const HttpRequest::FieldValues otp = request.Find("otp");
  credentials.otp = otp.first;
  credentials.otp_count = otp.count;
  return credentials;
}

}  // namespace authgate
