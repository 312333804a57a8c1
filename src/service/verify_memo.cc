#include "service/verify_memo.h"

namespace authgate {

void VerifyMemo::Sync(uint64_t generation) {
  if (generation == generation_) return;
  entries_.clear();
  generation_ = generation;
}

VerifyMemo::Entry* VerifyMemo::Find(std::string_view token) {
  auto it = entries_.find(digest_(token));
  return it == entries_.end() ? nullptr : &it->second;
}

void VerifyMemo::Put(std::string_view token, Entry entry, uint64_t generation) {
  Sync(generation > generation_ ? generation : generation_);
  if (generation != generation_) return;
  if (entries_.size() >= max_entries_) entries_.clear();
  entries_.insert_or_assign(digest_(token), std::move(entry));
}

}  // namespace authgate
