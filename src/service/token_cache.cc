#include "service/token_cache.h"

#include <sodium.h>

#include <cstring>

namespace authgate {

static_assert(crypto_shorthash_siphashx24_BYTES == 16 && crypto_shorthash_siphashx24_KEYBYTES == 16);

TokenCache::TokenCache(size_t max_entries) : max_per_shard_(max_entries / kShards + 1) {
  randombytes_buf(key_.data(), key_.size());
}

TokenCache::Digest TokenCache::Hash(std::string_view token) const {
  Digest digest;
  crypto_shorthash_siphashx24(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                              token.size(), key_.data());
  return digest;
}

size_t TokenCache::DigestHash::operator()(const Digest& digest) const {
  size_t value;
  std::memcpy(&value, digest.data(), sizeof(value));  // already uniformly distributed
  return value;
}

std::shared_ptr<const VerifiedToken> TokenCache::Find(std::string_view token) const {
  Digest digest = Hash(token);
  const Shard& shard = shards_[digest[15] % kShards];
  std::shared_lock lock(shard.mutex);
  auto it = shard.entries.find(digest);
  if (it == shard.entries.end()) return nullptr;
  return it->second;
}

void TokenCache::Put(std::string_view token, std::shared_ptr<const VerifiedToken> verified) {
  Digest digest = Hash(token);
  Shard& shard = shards_[digest[15] % kShards];
  std::unique_lock lock(shard.mutex);
  if (shard.entries.size() >= max_per_shard_) shard.entries.clear();
  shard.entries.emplace(digest, std::move(verified));
}

void TokenCache::Clear() {
  for (Shard& shard : shards_) {
    std::unique_lock lock(shard.mutex);
    shard.entries.clear();
  }
}

}  // namespace authgate
