// StateCache: VerifyCache's state part (service/verify_cache.h): what the verify hot path needs
// that can change (account status, the decrypted TOTP secret, session revocation and recent
// otp failures), as last read from the store. Put* implement rule 2 of VerifyCache's generation
// rule: they store nothing if any invalidation happened since `generation` was read. Bounded:
// when full, a map is emptied and refills on demand. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "core/codes.h"
#include "core/otp_failures.h"
#include "core/secret.h"
#include "core/totp.h"

namespace authgate {

struct CachedUser {
  int64_t id = 0;
  std::string username;
  AccountStatus status = AccountStatus::kActive;
  SecretBytes totp_secret;
  // Codes of the current window, recomputed once per 30 s step rather than per request.
  mutable std::mutex otp_mutex;
  mutable TotpWindow otp_window;

  std::optional<int64_t> MatchRequestOtp(std::string_view code, int64_t now, int skew) const {
    std::lock_guard<std::mutex> lock(otp_mutex);
    return MatchCurrentTotpWindow(&otp_window, totp_secret, code, now, skew);
  }
};

struct CachedSession {
  int64_t user_id = 0;
  bool revoked = false;
  OtpFailureTimes otp_failure_times;
};

class StateCache {
 public:
  explicit StateCache(size_t max_entries = 200000) : max_entries_(max_entries) {}

  std::shared_ptr<const CachedUser> FindUser(int64_t user_id) const;
  std::optional<CachedSession> FindSession(const std::string& session_id) const;
  // Bumped by every invalidation; reading it takes no lock.
  uint64_t Generation() const { return generation_.load(std::memory_order_acquire); }
  void PutUser(std::shared_ptr<const CachedUser> user, uint64_t generation);
  void PutSession(const std::string& session_id, const CachedSession& session,
                  uint64_t generation);

  // Drops a user and every cached session of that user.
  void InvalidateUser(int64_t user_id);
  void InvalidateSession(const std::string& session_id);
  void Clear();

 private:
  const size_t max_entries_;
  mutable std::shared_mutex mutex_;
  std::atomic<uint64_t> generation_{0};  // bumped (under the lock) by every invalidation
  std::unordered_map<int64_t, std::shared_ptr<const CachedUser>> users_;
  std::unordered_map<std::string, CachedSession> sessions_;
};

}  // namespace authgate
