#include "service/key_ring.h"

#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "core/random.h"

namespace authgate {
namespace {

std::string KeyAssociatedData(const std::string& kid) { return "signing-key:" + kid; }

}  // namespace

const JwtKey* KeySet::Find(std::string_view kid, int64_t now) const {
  auto it = keys.find(kid);
  if (it == keys.end()) return nullptr;
  if (it->second.valid_until != 0 && it->second.valid_until <= now) return nullptr;
  return &it->second.key;
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
  std::lock_guard<std::mutex> lock(mutex_);
  snapshot_ = std::move(set);
  return Status::Ok();
}

Status KeyRing::EnsureSigningKey(int64_t now) {
  Status loaded = Load();
  if (!loaded) return loaded;
  if (Snapshot()->signing) return Status::Ok();
  Result<std::string> kid = Rotate(now);
  if (!kid) return kid.failure();
  return Status::Ok();
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
