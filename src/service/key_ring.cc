#include "service/key_ring.h"

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "core/encoding.h"
#include "core/random.h"

namespace authgate {
namespace {

std::string KeyAssociatedData(const std::string& kid) { return "signing-key:" + kid; }

constexpr const char* kRefreshKeySetting = "refresh_derivation_key";

// HMAC-SHA-256(key, label || data): labels keep the two derivations apart.
std::string Hmac(const SecretBytes& key, std::string_view label, std::string_view data) {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key.data(), key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(label.data()),
                                label.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(data.data()),
                                data.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof(state));
  return std::string(reinterpret_cast<const char*>(mac), sizeof(mac));
}

}  // namespace

const JwtKey* KeySet::Find(std::string_view kid, int64_t now) const {
  auto it = keys.find(kid);
  if (it == keys.end()) return nullptr;
  if (it->second.valid_until != 0 && it->second.valid_until <= now) return nullptr;
  return &it->second.key;
}

const JwtKey* KeySet::SigningKeyAt(int64_t at) const {
  // The current key, unless it was made after `at` (two keys made in one second: the current).
  if (signing) {
    auto current = keys.find(signing->kid);
    if (current == keys.end() || current->second.created_at <= at) return &*signing;
  }
  const Entry* newest = nullptr;
  for (const auto& [kid, entry] : keys) {
    if (entry.created_at <= at && (newest == nullptr || entry.created_at > newest->created_at)) {
      newest = &entry;
    }
  }
  if (newest != nullptr) return &newest->key;
  return signing ? &*signing : nullptr;
}

std::string KeySet::DeriveRefreshToken(std::string_view presented) const {
  if (!refresh_key) return "";
  return Base64UrlEncode(Hmac(*refresh_key, "refresh-token\n", presented));
}

std::string KeySet::DeriveTokenId(std::string_view refresh_token) const {
  if (!refresh_key) return "";
  return HexEncode(Hmac(*refresh_key, "access-token-id\n", refresh_token).substr(0, 16));
}

std::string KeySet::JwksJson(int64_t now) const {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [kid, entry] : keys) {
    if (entry.key.alg != JwtAlg::kEdDSA) continue;
    if (entry.valid_until != 0 && entry.valid_until <= now) continue;
    list.push_back(nlohmann::json::parse(PublicJwk(entry.key)));
  }
  return nlohmann::json{{"keys", list}}.dump();
}

Status KeyRing::Load() {
  Result<std::vector<SigningKeyRecord>> records = store_.ListSigningKeys();
  if (!records) return records.failure();
  auto set = std::make_shared<KeySet>();
  for (const SigningKeyRecord& record : *records) {
    JwtAlg alg;
    if (!ParseJwtAlg(record.alg, &alg) || alg != alg_) continue;
    Result<SecretBytes> material = box_.Open(record.secret_sealed, KeyAssociatedData(record.kid));
    if (!material) return Error{"signing key " + record.kid + ": " + material.error()};
    std::optional<JwtKey> key = MakeJwtKey(record.kid, alg, *material);
    if (!key) return Error{"signing key " + record.kid + " has malformed material"};
    KeySet::Entry entry{*key, record.retired_at == 0 ? 0 : record.retired_at + access_ttl_s_,
                        record.created_at};
    if (record.retired_at == 0) set->signing = *key;
    set->keys.emplace(record.kid, std::move(entry));
  }
  Result<std::optional<std::string>> refresh_key = store_.GetSetting(kRefreshKeySetting);
  if (!refresh_key) return refresh_key.failure();
  if (refresh_key->has_value()) {
    Result<SecretBytes> material = box_.Open(**refresh_key, kRefreshKeySetting);
    if (!material) return Error{"refresh derivation key: " + material.error()};
    set->refresh_key = std::move(*material);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot_ = std::move(set);
  return Status::Ok();
}

Status KeyRing::EnsureSigningKey(int64_t now) {
  Status loaded = Load();
  if (!loaded) return loaded;
  Status refresh_key = EnsureRefreshKey();
  if (!refresh_key) return refresh_key;
  if (Snapshot()->signing) return Status::Ok();
  Result<std::string> kid = Rotate(now);
  if (!kid) return kid.failure();
  return Status::Ok();
}

// The first instance to start creates the key; the others find it (PutSettingIfAbsent).
Status KeyRing::EnsureRefreshKey() {
  if (Snapshot()->refresh_key) return Status::Ok();
  Result<std::string> stored = store_.PutSettingIfAbsent(
      kRefreshKeySetting, box_.Seal(RandomSecret(32), kRefreshKeySetting));
  if (!stored) return stored.failure();
  return Load();
}

Result<std::string> KeyRing::Rotate(int64_t now) {
  SigningKeyRecord record;
  record.kid = RandomId().substr(0, 16);
  record.alg = std::string(JwtAlgName(alg_));
  SecretBytes material = RandomSecret(32);  // HS256 key or Ed25519 seed: 256 bits either way
  record.secret_sealed = box_.Seal(material, KeyAssociatedData(record.kid));
  Status added = store_.AddSigningKey(record, now);
  if (!added) return added.failure();
  Status loaded = Load();
  if (!loaded) return loaded.failure();
  return record.kid;
}

}  // namespace authgate
