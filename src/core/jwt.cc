#include "core/jwt.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include "core/encoding.h"

namespace authgate {
namespace {

using nlohmann::json;

std::optional<json> ParseObject(std::string_view segment) {
  std::optional<std::string> bytes = Base64UrlDecode(segment);
  if (!bytes) return std::nullopt;
  json parsed = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return std::nullopt;
  return parsed;
}

bool GetString(const json& object, const char* name, std::string* out) {
  auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return false;
  *out = it->get<std::string>();
  return true;
}

bool GetInteger(const json& object, const char* name, int64_t* out) {
  auto it = object.find(name);
  if (it == object.end()) return false;
  if (it->is_number_unsigned()) {  // checked first: is_number_integer() includes unsigned
    uint64_t value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(INT64_MAX)) return false;
    *out = static_cast<int64_t>(value);
    return true;
  }
  if (it->is_number_integer()) {
    *out = it->get<int64_t>();
    return true;
  }
  return false;
}

bool AudienceMatches(const json& payload, const std::string& audience, std::string* aud) {
  auto it = payload.find("aud");
  if (it == payload.end()) return false;
  if (it->is_string()) {
    *aud = it->get<std::string>();
    return *aud == audience;
  }
  if (it->is_array()) {
    for (const json& entry : *it) {
      if (entry.is_string() && entry.get<std::string>() == audience) {
        *aud = audience;
        return true;
      }
    }
  }
  return false;
}

bool AllDigits(const std::string& text) {
  if (text.empty() || text.size() > 19) return false;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string HmacSha256(const SecretBytes& key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
           &mac_len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

}  // namespace

std::string_view JwtAlgName(JwtAlg alg) { return alg == JwtAlg::kHS256 ? "HS256" : "EdDSA"; }

bool ParseJwtAlg(std::string_view name, JwtAlg* alg) {
  if (name == "HS256") *alg = JwtAlg::kHS256;
  else if (name == "EdDSA") *alg = JwtAlg::kEdDSA;
  else return false;
  return true;
}

std::optional<JwtKey> MakeJwtKey(std::string kid, JwtAlg alg, const SecretBytes& material) {
  JwtKey key;
  key.kid = std::move(kid);
  key.alg = alg;
  if (alg == JwtAlg::kHS256) {
    if (material.size() < 32) return std::nullopt;
    key.secret = material;
    return key;
  }
  if (material.size() != crypto_sign_SEEDBYTES) return std::nullopt;
  SecretBytes secret_key(crypto_sign_SECRETKEYBYTES);
  std::string public_key(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_seed_keypair(reinterpret_cast<unsigned char*>(public_key.data()),
                           secret_key.data(), material.data());
  key.secret = std::move(secret_key);
  key.public_key = std::move(public_key);
  return key;
}

std::string PublicJwk(const JwtKey& key) {
  json jwk = {{"kty", "OKP"},
              {"crv", "Ed25519"},
              {"x", Base64UrlEncode(key.public_key)},
              {"kid", key.kid},
              {"alg", "EdDSA"},
              {"use", "sig"}};
  return jwk.dump();
}

std::string SignJwsInput(std::string_view signing_input, const JwtKey& key) {
  if (key.alg == JwtAlg::kHS256) return HmacSha256(key.secret, signing_input);
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size(), key.secret.data());
  return signature;
}

bool VerifyJwsSignature(std::string_view signing_input, std::string_view signature,
                        const JwtKey& key) {
  if (key.alg == JwtAlg::kHS256) {
    std::string expected = HmacSha256(key.secret, signing_input);
    return !expected.empty() && expected.size() == signature.size() &&
           CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
  }
  if (signature.size() != crypto_sign_BYTES ||
      key.public_key.size() != crypto_sign_PUBLICKEYBYTES) {
    return false;
  }
  return crypto_sign_verify_detached(
             reinterpret_cast<const unsigned char*>(signature.data()),
             reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(),
             reinterpret_cast<const unsigned char*>(key.public_key.data())) == 0;
}

std::string SignJwt(const JwtClaims& claims, const JwtKey& key) {
  json header = {{"alg", JwtAlgName(key.alg)}, {"typ", "JWT"}, {"kid", key.kid}};
  json payload = {{"iss", claims.iss}, {"aud", claims.aud}, {"sub", claims.sub},
                  {"sid", claims.sid}, {"jti", claims.jti}, {"iat", claims.iat},
                  {"exp", claims.exp}};
  std::string input = Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
  std::string signature = SignJwsInput(input, key);
  return input + "." + Base64UrlEncode(signature);
}

JwtVerification VerifyJwt(std::string_view token, const JwtPolicy& policy,
                          const JwtKeyLookup& find_key, int64_t now) {
  JwtVerification invalid;
  if (token.empty() || token.size() > kMaxJwtBytes) return invalid;
  size_t first = token.find('.');
  if (first == std::string_view::npos) return invalid;
  size_t second = token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return invalid;
  }
  std::string_view header_part = token.substr(0, first);
  std::string_view payload_part = token.substr(first + 1, second - first - 1);
  std::string_view signature_part = token.substr(second + 1);

  std::optional<json> header = ParseObject(header_part);
  if (!header) return invalid;
  std::string alg;
  std::string kid;
  if (!GetString(*header, "alg", &alg) || alg != JwtAlgName(policy.alg)) return invalid;
  if (!GetString(*header, "kid", &kid)) return invalid;
  // Headers that would make us fetch or trust key material from the token are refused outright.
  for (const char* refused : {"crit", "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"}) {
    if (header->contains(refused)) return invalid;
  }
  const JwtKey* key = find_key(kid);
  if (key == nullptr || key->alg != policy.alg) return invalid;
  std::optional<std::string> signature = Base64UrlDecode(signature_part);
  if (!signature) return invalid;
  if (!VerifyJwsSignature(token.substr(0, second), *signature, *key)) return invalid;

  std::optional<json> payload = ParseObject(payload_part);
  if (!payload) return invalid;
  JwtClaims claims;
  if (!GetString(*payload, "iss", &claims.iss) || claims.iss != policy.issuer) return invalid;
  if (!AudienceMatches(*payload, policy.audience, &claims.aud)) return invalid;
  if (!GetString(*payload, "sub", &claims.sub) || !AllDigits(claims.sub)) return invalid;
  if (!GetString(*payload, "sid", &claims.sid) || claims.sid.empty()) return invalid;
  if (!GetString(*payload, "jti", &claims.jti)) return invalid;
  if (!GetInteger(*payload, "iat", &claims.iat)) return invalid;
  if (!GetInteger(*payload, "exp", &claims.exp)) return invalid;
  int64_t nbf = 0;
  if (payload->contains("nbf")) {
    if (!GetInteger(*payload, "nbf", &nbf) || nbf > now + policy.leeway_s) return invalid;
  }
  if (claims.iat > now + policy.leeway_s + 60) return invalid;  // issued in the future
  JwtVerification result;
  result.claims = std::move(claims);
  // exp + leeway is computed without overflow: exp is at most INT64_MAX.
  result.status = (result.claims.exp <= now - policy.leeway_s) ? JwtStatus::kExpired
                                                               : JwtStatus::kValid;
  return result;
}

}  // namespace authgate
