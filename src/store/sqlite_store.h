// SqliteStore: the embedded default store. One SQLite file in WAL mode, shared safely by the
// server and the command line (several processes). Each Store operation runs in one
// transaction; writes take the write lock up front (BEGIN IMMEDIATE), so concurrent callers
// serialize instead of failing.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/store.h"

struct sqlite3;

namespace authgate {

class SqliteConnection;

class SqliteStore final : public Store {
 public:
  // `timeout_ms` bounds the wait for a lock (busy_timeout) and for a pooled connection.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::string& path, int timeout_ms = 2000);
  ~SqliteStore() override;

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
  SqliteStore(std::string path, int timeout_ms);

  // Borrows a connection for the duration of one operation.
  class Lease;
  Lease Acquire();

  std::string path_;
  int timeout_ms_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqliteConnection>> idle_;
  int open_connections_ = 0;
};

}  // namespace authgate
