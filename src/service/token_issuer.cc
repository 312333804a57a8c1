#include "service/token_issuer.h"

#include <sodium.h>

#include "core/encoding.h"
#include "core/random.h"

namespace authgate {

std::string RefreshTokenHash(std::string_view secret) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size());
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

NewRefreshToken TokenIssuer::NewRefresh() const {
  NewRefreshToken refresh;
  refresh.secret = RandomToken();
  refresh.hash = RefreshTokenHash(refresh.secret);
  return refresh;
}

NewRefreshToken TokenIssuer::NextRefresh(std::string_view presented_secret) const {
  NewRefreshToken refresh;
  refresh.secret = keys_.Snapshot()->DeriveRefreshToken(presented_secret);
  if (!refresh.secret.empty()) refresh.hash = RefreshTokenHash(refresh.secret);
  return refresh;
}

Outcome<TokenGrant> TokenIssuer::Grant(int64_t user_id, const std::string& session_id,
                                       const std::string& refresh_token,
                                       int64_t issued_at) const {
  std::shared_ptr<const KeySet> keys = keys_.Snapshot();
  const JwtKey* key = keys->SigningKeyAt(issued_at);
  std::string jti = keys->DeriveTokenId(refresh_token);
  if (key == nullptr || jti.empty()) return Outcome<TokenGrant>::Unavailable();  // not loaded
  JwtClaims claims;
  claims.iss = settings_.jwt.issuer;
  claims.aud = settings_.jwt.audience;
  claims.sub = std::to_string(user_id);
  claims.sid = session_id;
  claims.jti = std::move(jti);
  claims.iat = issued_at;
  claims.exp = issued_at + settings_.access_ttl_s;
  TokenGrant grant;
  grant.user_id = user_id;
  grant.access_token = SignJwt(claims, *key);
  grant.expires_in = settings_.access_ttl_s;
  grant.refresh_token = refresh_token;
  grant.refresh_expires_in = settings_.refresh_ttl_s;
  return Outcome<TokenGrant>::Success(std::move(grant));
}

}  // namespace authgate
