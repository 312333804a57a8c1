// PostgresStore: the store shared by many authgate instances, on one PostgreSQL server (libpq).
//
// Atomic steps use row locks (SELECT ... FOR UPDATE) inside one transaction, so lockout counts
// and refresh rotations stay exact across instances. Change-log entries are appended under a
// transaction-scoped advisory lock, so their sequence numbers become visible in commit order
// and a poller never skips one. Migrations are versioned and run under an advisory lock, so
// instances starting together migrate once. A broken connection is dropped and replaced on the
// next operation: the store recovers by itself when the server comes back. Every operation is
// bounded by one deadline (pool wait, connect, each statement; src/store/pg_connection.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/store.h"

namespace authgate {

class PostgresConnection;

class PostgresStore final : public Store {
 public:
  // Every operation is bounded by `timeout_ms` (SPEC §10.1: storage.timeout_ms).
  static Result<std::unique_ptr<PostgresStore>> Open(const std::string& url,
                                                     int timeout_ms = 2000);
  ~PostgresStore() override;

  bool Ping() override;
  Result<std::vector<int64_t>> CreateUsers(const std::vector<NewUser>& users,
                                           int64_t now) override;
  Result<std::optional<UserRecord>> FindUserByName(const std::string& username) override;
  Result<std::optional<UserRecord>> FindUserById(int64_t id) override;
  Result<std::vector<UserRecord>> ListUsers() override;
  Result<bool> SetStatus(const std::string& username, AccountStatus status, int64_t now) override;
  Result<bool> SetPasswordHash(const std::string& username, const std::string& hash,
                               int64_t now) override;
  Result<bool> SetTotpSecret(const std::string& username, const std::string& sealed,
                             int64_t now) override;
  Status UpdatePasswordHash(int64_t user_id, const std::string& hash) override;
  Result<Admission> AdmitLoginAttempt(const std::string& username, int64_t now,
                                      const LockoutPolicy& policy) override;
  Result<AttemptState> RecordLoginFailure(const std::string& username, int64_t now,
                                          const LockoutPolicy& policy) override;
  Status RecordLoginSuccess(const std::string& username) override;
  Result<AttemptState> GetAttemptState(const std::string& username) override;
  Result<bool> CompleteLogin(const std::string& username, int64_t user_id, int64_t otp_step,
                             const std::string& session_id, const std::string& refresh_hash,
                             int64_t refresh_expires_at, int64_t now) override;
  Result<RotationResult> RotateRefreshToken(const std::string& old_hash,
                                            const std::string& new_hash, int64_t new_expires_at,
                                            int64_t now) override;
  Result<std::optional<SessionRecord>> FindSession(const std::string& session_id) override;
  Result<bool> RevokeSession(const std::string& session_id, int64_t now) override;
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

 private:
  PostgresStore(std::string url, int timeout_ms);

  class Lease;
  Lease Acquire();

  std::string url_;
  std::chrono::milliseconds timeout_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PostgresConnection>> idle_;
  int open_connections_ = 0;
};

}  // namespace authgate
