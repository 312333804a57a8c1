// JWS compact JWTs (RFC 7515/7519) for access tokens, signed with HS256 (OpenSSL HMAC) or
// EdDSA/Ed25519 (libsodium). Verification accepts exactly one configured algorithm and only
// known key ids; it checks the signature before it trusts a single claim.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/secret.h"

namespace authgate {

enum class JwtAlg { kHS256, kEdDSA };

std::string_view JwtAlgName(JwtAlg alg);
bool ParseJwtAlg(std::string_view name, JwtAlg* alg);

struct JwtKey {
  std::string kid;
  JwtAlg alg = JwtAlg::kHS256;
  SecretBytes secret;      // HS256: the MAC key; EdDSA: libsodium's 64-byte secret key
  std::string public_key;  // EdDSA: the 32-byte public key; empty for HS256
};

// Makes a key from its stored secret material: HS256 keys are used as is; EdDSA keys are
// derived from their 32-byte seed. Returns nothing when the material has the wrong size.
std::optional<JwtKey> MakeJwtKey(std::string kid, JwtAlg alg, const SecretBytes& material);
// The JWK (RFC 8037 for Ed25519) of an asymmetric key's public half, as a JSON object text.
std::string PublicJwk(const JwtKey& key);

struct JwtClaims {
  std::string iss;
  std::string aud;
  std::string sub;
  std::string sid;
  std::string jti;
  int64_t iat = 0;
  int64_t exp = 0;
};

std::string SignJwt(const JwtClaims& claims, const JwtKey& key);

struct JwtPolicy {
  JwtAlg alg = JwtAlg::kHS256;
  std::string issuer;
  std::string audience;
  int64_t leeway_s = 0;
};

enum class JwtStatus { kValid, kInvalid, kExpired };

struct JwtVerification {
  JwtStatus status = JwtStatus::kInvalid;
  JwtClaims claims;  // filled for kValid and kExpired (signature and claims checked)
};

using JwtKeyLookup = std::function<const JwtKey*(std::string_view kid)>;

constexpr size_t kMaxJwtBytes = 4096;

JwtVerification VerifyJwt(std::string_view token, const JwtPolicy& policy,
                          const JwtKeyLookup& find_key, int64_t now);

// Verifies a compact JWS signature only (used by tests against published vectors).
bool VerifyJwsSignature(std::string_view signing_input, std::string_view signature,
                        const JwtKey& key);
std::string SignJwsInput(std::string_view signing_input, const JwtKey& key);

}  // namespace authgate
