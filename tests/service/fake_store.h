// FakeStore: store.h's interface in memory, for the service's unit tests. One mutex makes every
// operation the atomic step store.h promises, and the use-case decisions are core's (lockout,
// otp failures), so the service sees a store that behaves like the real ones. Only the fields
// the service reads are kept (no created_at on keys, no prune rules beyond a count).
//
// Test handles: calls() counts every operation (to prove a path never touches the store), and
// SetFailing(true) makes every operation fail as an unreachable store does (the 503 and circuit
// paths); FailAfter(n) does so from the n+1-th operation on (a store lost mid-login);
// SetWritesFailing(true) fails only the operations that write, as a full disk or a read-only
// database does, while reads answer. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "store/store.h"

namespace authgate {

class FakeStore final : public Store {
 public:
  uint64_t calls() const { return calls_.load(); }
  void SetFailing(bool failing) { failing_.store(failing); }
  // Every operation after the next `calls` fails (as SetFailing(true) makes them).
  void FailAfter(uint64_t calls) { fail_after_.store(calls_.load() + calls); }
  void SetWritesFailing(bool failing) { writes_failing_.store(failing); }
  // The heartbeat rows (instance id → time of its last heartbeat).
  std::map<std::string, int64_t> heartbeats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return heartbeats_;
  }

  bool Ping() override;
  Result<std::vector<int64_t>> CreateUsers(const std::vector<NewUser>& users,
                                           int64_t now) override;
  Result<std::optional<UserRecord>> FindUserByName(const std::string& username) override;
  Result<std::optional<UserRecord>> FindUserById(int64_t id) override;
  Result<std::vector<UserRecord>> ListUsers() override;
  Result<UserUpdate> SetStatus(const std::string& username, AccountStatus status, int64_t now) override;
  Result<UserUpdate> SetPasswordHash(const std::string& username, const std::string& hash,
                               int64_t now) override;
  Result<UserUpdate> SetTotpSecret(const std::string& username, const std::string& sealed,
                             int64_t now) override;
  Status UpdatePasswordHash(int64_t user_id, const std::string& hash) override;
  Result<Admission> AdmitLoginAttempt(const std::string& username, int64_t now,
                                      const LockoutPolicy& policy) override;
  Result<AttemptState> RecordLoginFailure(const std::string& username, int64_t now,
                                          const LockoutPolicy& policy) override;
  Result<AttemptState> GetAttemptState(const std::string& username) override;
  Status ClearAttempts(const std::string& username) override;
  Result<LoginResult> FinishLogin(const LoginFinish& login, const OtpMatcher& match_otp) override;
  using Store::RotateRefreshToken;
  Result<RotationResult> RotateRefreshToken(const RefreshKey& old, const std::string& new_hash,
                                            int64_t new_expires_at, int64_t now,
                                            int64_t reuse_window_s) override;
  Result<std::optional<SessionRecord>> FindSession(const std::string& session_id) override;
  Result<SessionEnd> RevokeSession(const std::string& session_id, int64_t now) override;
  Result<std::vector<SessionInfo>> ListSessions(int64_t user_id, int64_t now, int64_t access_ttl_s,
                                                int64_t limit) override;
  Result<SessionEnd> EndSession(int64_t user_id, const std::string& session_id, int64_t now,
                                int64_t access_ttl_s) override;
  Result<int64_t> EndAllSessions(int64_t user_id, int64_t now, int64_t access_ttl_s) override;
  Result<OtpFailureOutcome> RecordOtpFailure(const std::string& session_id,
                                             const LockoutPolicy& policy, int64_t now) override;
  Result<std::vector<SigningKeyRecord>> ListSigningKeys() override;
  Status AddSigningKey(const SigningKeyRecord& key, int64_t now) override;
  Result<int64_t> LatestChangeSeq() override;
  Result<std::vector<Change>> ChangesSince(int64_t seq) override;
  Result<std::optional<std::string>> GetSetting(const std::string& name) override;
  Result<std::string> PutSettingIfAbsent(const std::string& name,
                                         const std::string& value) override;
  Status Prune(int64_t now, int64_t access_ttl_s, const LockoutPolicy& lockout) override;
  Status Heartbeat(const std::string& instance_id, int64_t now) override;

 private:
  struct RefreshToken {
    std::string hash;
    std::string session_id;
    int64_t expires_at = 0;
    bool rotated = false;
    int64_t rotated_at = 0;
    int64_t next_id = 0;
  };

  // Counts the call; false when the store is failing.
  bool Enter();
  // Enter for an operation that writes: the error it fails with, if it does (also while writes
  // fail).
  std::optional<Error> EnterWrite();
  UserRecord* UserNamed(const std::string& username);  // under mutex_
  void AppendChange(ChangeKind kind, std::string ref);  // under mutex_
  void RevokeLocked(const std::string& session_id);     // under mutex_
  // Under mutex_: as the owner sees it (expires_at: SessionLiveUntil), or nothing when not live.
  std::optional<SessionInfo> LiveLocked(const SessionRecord& session, int64_t now,
                                        int64_t access_ttl_s);
  // FinishLogin's failure: a §2 failure and one wrong otp toward the hold (under mutex_).
  void CountLoginFailure(const LoginFinish& login, UserRecord& user, LoginResult& result);
  // Replaces a credential and revokes the user's sessions (SetPasswordHash, SetTotpSecret).
  Result<UserUpdate> ReplaceCredential(const std::string& username, std::string UserRecord::*field,
                                 const std::string& value, int64_t now);

  std::atomic<uint64_t> calls_{0};
  std::atomic<bool> failing_{false};
  std::atomic<uint64_t> fail_after_{UINT64_MAX};
  std::atomic<bool> writes_failing_{false};
  std::mutex mutex_;
  int64_t next_user_id_ = 1;
  std::map<int64_t, UserRecord> users_;
  std::map<std::string, AttemptState> attempts_;
  std::set<std::pair<int64_t, int64_t>> used_steps_;  // (user id, otp step)
  std::map<std::string, SessionRecord> sessions_;
  std::map<std::string, SessionInfo> session_info_;     // by id; expires_at: the refresh token's
  std::map<int64_t, RefreshToken> refresh_tokens_;      // by id (no tokens of before ids)
  int64_t next_refresh_id_ = 1;
  std::vector<SigningKeyRecord> keys_;
  std::vector<Change> changes_;
  std::map<std::string, std::string> settings_;
  std::map<std::string, int64_t> heartbeats_;
};

}  // namespace authgate
