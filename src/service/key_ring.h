// KeyRing: the signing keys of this deployment, loaded from the store and decrypted with the
// master key. The current key signs; retired keys keep verifying until the tokens they signed
// have expired (retired_at + access_ttl_s, the leeway included: tokens.access_verifies_s()),
// then drop out of verification and of the JWKS.
// It also holds the refresh derivation key (SPEC §10.2): one per deployment, kept sealed in the
// store's settings, so that every instance derives a refresh's new tokens alike.
// Readers take an immutable snapshot, so verification never waits on a reload to finish.
#pragma once

#include <mutex>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/crypto_box.h"
#include "core/jwt.h"
#include "store/store.h"

namespace authgate {

struct KeySet {
  std::optional<JwtKey> signing;  // the current key of the configured algorithm
  struct Entry {
    JwtKey key;
    int64_t valid_until = 0;  // 0 = current
    int64_t created_at = 0;
  };
  std::map<std::string, Entry, std::less<>> keys;  // every key of the configured algorithm
  std::optional<SecretBytes> refresh_key;           // HMAC-SHA-256 key of the derivations

  // The key with this kid if it may still verify at `now`.
  const JwtKey* Find(std::string_view kid, int64_t now) const;
  // The key that was current at `at` (the newest created by then), or the current one: what
  // signed a grant issued at `at`, so that a replay (SPEC §10.2) signs with it again.
  const JwtKey* SigningKeyAt(int64_t at) const;
  // SPEC §10.2: the refresh-token secret a refresh of `presented` (a token's secret:
  // core/refresh_token.h) hands out, and the jti of an access token granted with
  // `refresh_token`: HMAC-SHA-256 under refresh_key, so a replay of the same token gets the
  // same bytes and the store never holds a token it could hand out.
  // Empty when refresh_key is not loaded.
  std::string DeriveRefreshToken(std::string_view presented) const;
  std::string DeriveTokenId(std::string_view refresh_token) const;
  std::string JwksJson(int64_t now) const;
};

class KeyRing {
 public:
  KeyRing(Store& store, const CryptoBox& box, JwtAlg alg, int64_t access_ttl_s)
      : store_(store), box_(box), alg_(alg), access_ttl_s_(access_ttl_s) {}

  Status Load();
  // Loads, and creates a first key when there is no current key of the configured algorithm,
  // and the refresh derivation key when there is none.
  Status EnsureSigningKey(int64_t now);
  // Adds a new current key (the previous one is retired); returns its kid.
  Result<std::string> Rotate(int64_t now);

  std::shared_ptr<const KeySet> Snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return snapshot_;
  }

 private:
  Status EnsureRefreshKey();

  Store& store_;
  const CryptoBox& box_;
  JwtAlg alg_;
  int64_t access_ttl_s_;
  // A plain mutex rather than std::atomic<std::shared_ptr>: held only to copy a pointer, and
  // ThreadSanitizer can check it (libstdc++'s atomic shared_ptr hides its lock from TSan).
  mutable std::mutex mutex_;
  std::shared_ptr<const KeySet> snapshot_ = std::make_shared<const KeySet>();
};

}  // namespace authgate
