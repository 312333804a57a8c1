// The login-name rule (SPEC §10.5 "Login names"): the names an account can have, which are the
// names `user add` accepts. A login with any other name is answered as for an unknown username
// and never reaches the store (so no input can grow a table or an index beyond this bound).
// Pure; any thread.
#pragma once

#include <cstddef>
#include <string_view>

namespace authgate {

constexpr size_t kMaxUsernameBytes = 64;

// 1–64 bytes of A–Z a–z 0–9 . _ @ + -.
bool IsPossibleUsername(std::string_view name);

// At most `kMaxUsernameBytes` of a submitted name, for audit lines and logs.
std::string_view UsernameForLog(std::string_view submitted);

}  // namespace authgate
