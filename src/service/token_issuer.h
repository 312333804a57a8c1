// TokenIssuer: the tokens a successful login or refresh hands out (SPEC §3): a signed access
// token for a session and a fresh refresh token, of which the store keeps only the hash.
// A grant is a function of (user, session, refresh token, issue time) and the keys: the
// refresh a refresh hands out is derived from the presented one, the access token's jti from
// the refresh token, and it is signed with the key current at its issue time by a
// deterministic signature (HS256, Ed25519) — so a replay (SPEC §10.2) repeats it byte for byte.
// Thread-safe (it reads an immutable key snapshot); never touches the store.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "service/key_ring.h"
#include "service/outcome.h"
#include "service/service_settings.h"

namespace authgate {

// A refresh token's secret before the store names its row (core/refresh_token.h: the token
// is "<id>.<secret>", JoinRefreshToken).
struct NewRefreshToken {
  std::string secret;  // for the client, once, in the token
  std::string hash;    // for the store
};

// What the store keeps of a refresh token: its secret's SHA-256, hex.
std::string RefreshTokenHash(std::string_view secret);

class TokenIssuer {
 public:
  TokenIssuer(const KeyRing& keys, ServiceSettings settings)
      : keys_(keys), settings_(std::move(settings)) {}

  // A login's first refresh token: random.
  NewRefreshToken NewRefresh() const;
  // The refresh token a refresh of `presented` hands out, derived from its secret
  // (KeySet::DeriveRefreshToken); empty while the keys are not loaded.
  NewRefreshToken NextRefresh(std::string_view presented_secret) const;
  // The grant of `session_id` issued at `issued_at`; 503 while no signing key is loaded.
  Outcome<TokenGrant> Grant(int64_t user_id, const std::string& session_id,
                            const std::string& refresh_token, int64_t issued_at) const;

 private:
  const KeyRing& keys_;
  const ServiceSettings settings_;
};

}  // namespace authgate
