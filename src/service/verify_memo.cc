#include "service/verify_memo.h"

#include <sodium.h>

#include <cstring>

namespace authgate {

static_assert(crypto_shorthash_siphash24_BYTES == 8 && crypto_shorthash_siphash24_KEYBYTES == 16);

VerifyMemo::VerifyMemo(size_t max_entries) : max_entries_(max_entries) {
  randombytes_buf(key_.data(), key_.size());
}

uint64_t VerifyMemo::Hash(std::string_view token) const {
  unsigned char digest[crypto_shorthash_siphash24_BYTES];
  crypto_shorthash_siphash24(digest, reinterpret_cast<const unsigned char*>(token.data()),
                             token.size(), key_.data());
  uint64_t value;
  std::memcpy(&value, digest, sizeof value);
  return value;
}

void VerifyMemo::Sync(uint64_t generation) {
  if (generation == generation_) return;
  entries_.clear();
  generation_ = generation;
}

VerifyMemo::Entry* VerifyMemo::Find(std::string_view token) {
  auto it = entries_.find(Hash(token));
  if (it == entries_.end()) return nullptr;
  const std::string& stored = it->second.token;
  // The length of a token is not secret; its bytes are compared in constant time.
  if (stored.size() != token.size() ||
      sodium_memcmp(stored.data(), token.data(), token.size()) != 0) {
    return nullptr;
  }
  return &it->second.entry;
}

void VerifyMemo::Put(std::string_view token, Entry entry, uint64_t generation) {
  Sync(generation > generation_ ? generation : generation_);
  if (generation != generation_) return;
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_.insert_or_assign(Hash(token), Stored{std::string(token), std::move(entry)});
}

}  // namespace authgate
