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
#include <utility>

#include "service/key_ring.h"
#include "service/outcome.h"
#include "service/service_settings.h"

namespace authgate {

struct NewRefreshToken {
  std::string token;  // for the client, once
  std::string hash;   // for the store
};

// What the store keeps of a refresh token: its SHA-256, hex.
std::string RefreshTokenHash(const std::string& token);

class TokenIssuer {
 public:
  TokenIssuer(const KeyRing& keys, ServiceSettings settings)
      : keys_(keys), settings_(std::move(settings)) {}

  // A login's first refresh token: random.
  NewRefreshToken NewRefresh() const;
  // The refresh token a refresh of `presented` hands out (KeySet::DeriveRefreshToken); empty
  // while the keys are not loaded.
  NewRefreshToken NextRefresh(const std::string& presented) const;
  // The grant of `session_id` issued at `issued_at`; 503 while no signing key is loaded.
  Outcome<TokenGrant> Grant(int64_t user_id, const std::string& session_id,
                            const std::string& refresh_token, int64_t issued_at) const;

 private:
  const KeyRing& keys_;
  const ServiceSettings settings_;
};

}  // namespace authgate
