// TokenDigester: a 128-bit SipHash (libsodium's crypto_shorthash_siphashx24, a PRF) of a
// token's exact bytes under a random key made at construction. The verify path's caches key
// their entries by it: without the key nobody can aim at an entry or learn anything from how
// long a lookup takes, and a hit means "these very bytes" (2^-128 for anything else).
#pragma once

#include <array>
#include <cstddef>
#include <string_view>

namespace authgate {

class TokenDigester {
 public:
  using Digest = std::array<unsigned char, 16>;
  // For unordered containers keyed by Digest (uniform already: no mixing needed).
  struct Hash {
    size_t operator()(const Digest& digest) const;
  };

  TokenDigester();
  Digest operator()(std::string_view token) const;

 private:
  std::array<unsigned char, 16> key_;
};

}  // namespace authgate
