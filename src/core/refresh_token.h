// The refresh token's wire form (SPEC §3: opaque, at least 256 bits of randomness, stored only
// as a hash). Since store schema 9 a token is "<id>.<secret>": `id` names the stored row (a
// positive decimal, no leading zero), `secret` is 256 bits, base64url, and only its SHA-256 is
// stored. The store finds the row by its id (an append-only key: a rotation writes no random
// index page) and proves the secret by comparing the hashes in constant time. A token issued
// before schema 9 is a bare secret (no '.'), found by its hash among the rows of that time.
// The id tells its holder nothing secret; it does tell how many refresh tokens were issued
// before it (docs/security.md). Pure; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authgate {

struct RefreshTokenParts {
  int64_t id = 0;           // 0: a token issued before schema 9 (a bare secret)
  std::string_view secret;  // a view into the presented token
};

// The parts of a presented token, or nothing when it cannot be one this server issued: an
// empty secret, an id that is not a canonical positive int64, more than one '.'.
std::optional<RefreshTokenParts> SplitRefreshToken(std::string_view token);

// The token of row `id` (0: the bare secret, as before schema 9).
std::string JoinRefreshToken(int64_t id, std::string_view secret);

// Whether two byte strings are equal, in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace authgate
