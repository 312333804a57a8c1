#include "core/requests.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <optional>

namespace authgate {
namespace {

using nlohmann::json;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

std::optional<json> ParseObjectBody(std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return std::nullopt;
  return parsed;
}

// Reads one required string field; appends an error and returns false when it is at fault.
bool ReadField(const json& object, const char* name, std::string* out,
               std::vector<FieldError>* errors) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null() || (it->is_string() && it->get_ref<const std::string&>().empty())) {
    errors->push_back({name, MessageCode::kRequired});
    return false;
  }
  if (!it->is_string()) {
    errors->push_back({name, MessageCode::kInvalidValue});
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

}  // namespace

bool IsJsonContentType(std::string_view content_type) {
  std::string media = Lower(Trim(content_type.substr(0, content_type.find(';'))));
  if (media == "application/json") return true;
  constexpr std::string_view kPrefix = "application/";
  constexpr std::string_view kSuffix = "+json";
  return media.size() > kPrefix.size() + kSuffix.size() && media.starts_with(kPrefix) &&
         media.ends_with(kSuffix) && media.find('/', kPrefix.size()) == std::string::npos;
}

ParsedLogin ParseLoginBody(std::string_view body) {
  ParsedLogin parsed;
  std::optional<json> object = ParseObjectBody(body);
  if (!object) {
    parsed.errors.push_back({"", MessageCode::kInvalidJson});
    return parsed;
  }
  ReadField(*object, "username", &parsed.request.username, &parsed.errors);
  ReadField(*object, "password", &parsed.request.password, &parsed.errors);
  ReadField(*object, "otp", &parsed.request.otp, &parsed.errors);
  return parsed;
}

ParsedRefresh ParseRefreshBody(std::string_view body) {
  ParsedRefresh parsed;
  std::optional<json> object = ParseObjectBody(body);
  if (!object) {
    parsed.errors.push_back({"", MessageCode::kInvalidJson});
    return parsed;
  }
  ReadField(*object, "refreshToken", &parsed.request.refresh_token, &parsed.errors);
  return parsed;
}

}  // namespace authgate
