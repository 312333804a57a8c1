#include "service/token_digest.h"

#include <sodium.h>

#include <cstring>

namespace authgate {

static_assert(crypto_shorthash_siphashx24_BYTES == 16 &&
              crypto_shorthash_siphashx24_KEYBYTES == 16);

TokenDigester::TokenDigester() { randombytes_buf(key_.data(), key_.size()); }

TokenDigester::Digest TokenDigester::operator()(std::string_view token) const {
  Digest digest;
  crypto_shorthash_siphashx24(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                              token.size(), key_.data());
  return digest;
}

size_t TokenDigester::Hash::operator()(const Digest& digest) const {
  size_t value;
  std::memcpy(&value, digest.data(), sizeof value);
  return value;
}

}  // namespace authgate
