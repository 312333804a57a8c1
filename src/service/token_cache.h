// TokenCache: access tokens whose signature and claims were already verified, so the verify
// hot path does not decode, parse and check the same JWT again on every request. Keyed by a
// 128-bit SipHash (libsodium crypto_shorthash_siphashx24, a PRF) of the exact token bytes under
// a random key made at construction: without the key no one can aim at an entry, so a hit
// means "these very bytes verified before". The claims are kept; expiry is still checked
// against `now` by the caller. Bounded: when a shard is full it is emptied. Cleared whenever
// the signing keys change.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

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
  void Clear();

 private:
  static constexpr size_t kShards = 16;
  using Digest = std::array<unsigned char, 16>;
  struct DigestHash {
    size_t operator()(const Digest& digest) const;
  };
  struct Shard {
    mutable std::shared_mutex mutex;
    std::unordered_map<Digest, std::shared_ptr<const VerifiedToken>, DigestHash> entries;
  };
  Digest Hash(std::string_view token) const;

  const size_t max_per_shard_;
  std::array<unsigned char, 16> key_;
  std::array<Shard, kShards> shards_;
};

}  // namespace authgate
