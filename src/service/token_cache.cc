#include "service/token_cache.h"

namespace authgate {

TokenCache::TokenCache(size_t max_entries) : max_per_shard_(max_entries / kShards + 1) {}

std::shared_ptr<const VerifiedToken> TokenCache::Find(std::string_view token) const {
  const TokenDigester::Digest digest = digest_(token);
  const Shard& shard = shards_[digest[15] % kShards];
  std::shared_lock lock(shard.mutex);
  auto it = shard.entries.find(digest);
  if (it == shard.entries.end()) return nullptr;
  return it->second;
}

void TokenCache::Put(std::string_view token, std::shared_ptr<const VerifiedToken> verified) {
  const TokenDigester::Digest digest = digest_(token);
  Shard& shard = shards_[digest[15] % kShards];
  std::unique_lock lock(shard.mutex);
  if (shard.entries.size() >= max_per_shard_) shard.entries.clear();
  shard.entries.emplace(digest, std::move(verified));
}

void TokenCache::Erase(std::string_view token) {
  const TokenDigester::Digest digest = digest_(token);
  Shard& shard = shards_[digest[15] % kShards];
  std::unique_lock lock(shard.mutex);
  shard.entries.erase(digest);
}

void TokenCache::Clear() {
  for (Shard& shard : shards_) {
    std::unique_lock lock(shard.mutex);
    shard.entries.clear();
  }
}

}  // namespace authgate
