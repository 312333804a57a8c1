// Fuzzes the public endpoints' body and content-type handling (core/requests) and the refresh
// token's wire form (core/refresh_token).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/refresh_token.h"
#include "core/requests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  authgate::ParsedLogin login = authgate::ParseLoginBody(input);
  if (login.errors.empty() && (login.request.username.empty() || login.request.otp.empty())) {
    __builtin_trap();  // a request without errors has every field
  }
  authgate::ParsedRefresh refresh = authgate::ParseRefreshBody(input);
  // A token that splits joins back to itself: one spelling per (id, secret).
  const std::string& token = refresh.errors.empty() ? refresh.request.refresh_token : "";
  for (std::string_view candidate : {std::string_view(token), input}) {
    std::optional<authgate::RefreshTokenParts> parts = authgate::SplitRefreshToken(candidate);
    if (parts && authgate::JoinRefreshToken(parts->id, parts->secret) != candidate) {
      __builtin_trap();
    }
  }
  authgate::IsJsonContentType(input);
  return 0;
}
