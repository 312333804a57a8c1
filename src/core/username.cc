#include "core/username.h"

#include <algorithm>

namespace authgate {

bool IsPossibleUsername(std::string_view name) {
  if (name.empty() || name.size() > kMaxUsernameBytes) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
  });
}

std::string_view UsernameForLog(std::string_view submitted) {
  return submitted.substr(0, kMaxUsernameBytes);
}

}  // namespace authgate
