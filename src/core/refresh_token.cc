#include "core/refresh_token.h"

#include <sodium.h>

#include <charconv>

namespace authgate {

namespace {

// A canonical decimal: 1–19 digits, no sign, no leading zero, within int64.
std::optional<int64_t> ParseRowId(std::string_view text) {
  if (text.empty() || text.size() > 19 || text.front() < '1' || text.front() > '9') {
    return std::nullopt;
  }
  int64_t id = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return id;
}

}  // namespace

std::optional<RefreshTokenParts> SplitRefreshToken(std::string_view token) {
  const size_t dot = token.find('.');
  if (dot == std::string_view::npos) {
    if (token.empty()) return std::nullopt;
    return RefreshTokenParts{0, token};
  }
  const std::string_view secret = token.substr(dot + 1);
  const std::optional<int64_t> id = ParseRowId(token.substr(0, dot));
  if (!id || secret.empty() || secret.find('.') != std::string_view::npos) return std::nullopt;
  return RefreshTokenParts{*id, secret};
}

std::string JoinRefreshToken(int64_t id, std::string_view secret) {
  if (id == 0) return std::string(secret);
  std::string token = std::to_string(id);
  token.push_back('.');
  token.append(secret);
  return token;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace authgate
