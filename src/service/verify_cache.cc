#include "service/verify_cache.h"

#include <atomic>

namespace authgate {
namespace {

uint64_t NextInstanceId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

}  // namespace

VerifyCache::VerifyCache(Limits limits)
    : limits_(limits),
      instance_id_(NextInstanceId()),
      tokens_(limits.tokens),
      state_(limits.state_entries) {}

std::shared_ptr<const VerifiedToken> VerifyCache::FindToken(std::string_view token) const {
  return tokens_.Find(token);
}

void VerifyCache::PutToken(std::string_view token, std::shared_ptr<const VerifiedToken> verified,
                           uint64_t generation) {
  if (generation != Generation()) return;
  tokens_.Put(token, std::move(verified));
  // ForgetKeys bumps the generation before it empties the tokens: a put that slipped in after
  // the emptying sees the new generation here and takes itself back out.
  if (generation != Generation()) tokens_.Erase(token);
}

std::shared_ptr<const CachedUser> VerifyCache::FindUser(int64_t user_id) const {
  return state_.FindUser(user_id);
}

std::optional<CachedSession> VerifyCache::FindSession(const std::string& session_id) const {
  return state_.FindSession(session_id);
}

void VerifyCache::PutUser(std::shared_ptr<const CachedUser> user, uint64_t generation) {
  state_.PutUser(std::move(user), generation);
}

void VerifyCache::PutSession(const std::string& session_id, const CachedSession& session,
                             uint64_t generation) {
  state_.PutSession(session_id, session, generation);
}

VerifyMemo& VerifyCache::ThreadMemo() {
  // One memo per thread, for the cache that used it last on that thread (several caches only
  // exist in tests; switching empties it).
  thread_local struct {
    uint64_t owner = 0;
    std::unique_ptr<VerifyMemo> memo;
  } slot;
  if (slot.owner != instance_id_) {
    slot.memo = std::make_unique<VerifyMemo>(limits_.memo_per_thread);
    slot.owner = instance_id_;
  }
  return *slot.memo;
}

VerifyMemo::Entry* VerifyCache::FindMemo(std::string_view token) {
  VerifyMemo& memo = ThreadMemo();
  memo.Sync(Generation());
  return memo.Find(token);
}

void VerifyCache::PutMemo(std::string_view token, VerifyMemo::Entry entry, uint64_t generation) {
  ThreadMemo().Put(token, std::move(entry), generation);
}

void VerifyCache::InvalidateUser(int64_t user_id) { state_.InvalidateUser(user_id); }

void VerifyCache::InvalidateSession(const std::string& session_id) {
  state_.InvalidateSession(session_id);
}

void VerifyCache::Clear() { state_.Clear(); }

void VerifyCache::ForgetKeys() {
  state_.Clear();  // first: the new generation is what PutToken checks after its put
  tokens_.Clear();
}

}  // namespace authgate
