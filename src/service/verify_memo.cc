#include "service/verify_memo.h"

#include <sodium.h>

#include <cstring>

namespace authgate {

static_assert(crypto_shorthash_siphashx24_BYTES == 16 &&
              crypto_shorthash_siphashx24_KEYBYTES == 16);

VerifyMemo::VerifyMemo(size_t max_entries) : max_entries_(max_entries) {
  randombytes_buf(key_.data(), key_.size());
}

VerifyMemo::Digest VerifyMemo::Hash(std::string_view token) const {
  Digest digest;
  crypto_shorthash_siphashx24(digest.data(), reinterpret_cast<const unsigned char*>(token.data()),
                              token.size(), key_.data());
  return digest;
}

size_t VerifyMemo::DigestHash::operator()(const Digest& digest) const {
  size_t value;
  std::memcpy(&value, digest.data(), sizeof value);  // a PRF output: uniform already
  return value;
}

void VerifyMemo::Sync(uint64_t generation) {
  if (generation == generation_) return;
  entries_.clear();
  generation_ = generation;
}

VerifyMemo::Entry* VerifyMemo::Find(std::string_view token) {
  auto it = entries_.find(Hash(token));
  return it == entries_.end() ? nullptr : &it->second;
}

void VerifyMemo::Put(std::string_view token, Entry entry, uint64_t generation) {
  Sync(generation > generation_ ? generation : generation_);
  if (generation != generation_) return;
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_.insert_or_assign(Hash(token), std::move(entry));
}

}  // namespace authgate
