// TokenCache: VerifyCache's token part (service/verify_cache.h): access tokens whose signature
// and claims were already verified, so the verify hot path does not decode, parse and check the
// same JWT again on every request. Keyed by the token's TokenDigester digest (a keyed PRF of
// its exact bytes): nobody can aim at an entry, and a hit means "these very bytes verified
// before". The claims are kept; expiry is still checked against `now` by the caller. Bounded:
// when a shard is full it is emptied. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "service/token_digest.h"

namespace authgate {

// What the verify path needs of a verified access token.
struct VerifiedToken {
  int64_t user_id = 0;
  std::string session_id;
  int64_t exp = 0;
};

class TokenCache {
 public:
  explicit TokenCache(size_t max_entries = 32768);

  std::shared_ptr<const VerifiedToken> Find(std::string_view token) const;
  void Put(std::string_view token, std::shared_ptr<const VerifiedToken> verified);
  void Erase(std::string_view token);
  void Clear();

 private:
  static constexpr size_t kShards = 16;
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<TokenDigester::Digest, std::shared_ptr<const VerifiedToken>,
                       TokenDigester::Hash>
        entries;
  };

  const size_t max_per_shard_;
  const TokenDigester digest_;
  std::array<Shard, kShards> shards_;
};

}  // namespace authgate
