#include "service/state_cache.h"

namespace authgate {

std::shared_ptr<const CachedUser> StateCache::FindUser(int64_t user_id) const {
  std::shared_lock lock(mutex_);
  auto it = users_.find(user_id);
  return it == users_.end() ? nullptr : it->second;
}

std::optional<CachedSession> StateCache::FindSession(const std::string& session_id) const {
  std::shared_lock lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return std::nullopt;
  return it->second;
}

void StateCache::PutUser(std::shared_ptr<const CachedUser> user, uint64_t generation) {
  std::unique_lock lock(mutex_);
  if (generation != generation_.load(std::memory_order_relaxed)) return;
  if (users_.size() >= max_entries_) users_.clear();
  users_[user->id] = std::move(user);
}

void StateCache::PutSession(const std::string& session_id, const CachedSession& session,
                            uint64_t generation) {
  std::unique_lock lock(mutex_);
  if (generation != generation_.load(std::memory_order_relaxed)) return;
  if (sessions_.size() >= max_entries_) sessions_.clear();
  sessions_[session_id] = session;
}

void StateCache::InvalidateUser(int64_t user_id) {
  std::unique_lock lock(mutex_);
  generation_.fetch_add(1, std::memory_order_release);
  users_.erase(user_id);
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (it->second.user_id == user_id) it = sessions_.erase(it);
    else ++it;
  }
}

void StateCache::InvalidateSession(const std::string& session_id) {
  std::unique_lock lock(mutex_);
  generation_.fetch_add(1, std::memory_order_release);
  sessions_.erase(session_id);
}

void StateCache::Clear() {
  std::unique_lock lock(mutex_);
  generation_.fetch_add(1, std::memory_order_release);
  users_.clear();
  sessions_.clear();
}

}  // namespace authgate
