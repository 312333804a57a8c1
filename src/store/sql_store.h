// SqlStore: the one Store implementation, on SQLite (embedded, the default) and on PostgreSQL
// (shared by many instances). Every statement and every step of every operation is written
// here once; what differs between the engines lives behind Dialect (dialect.h), and what a step
// decides is a pure function of core/ (lockout, otp_failures, refresh_rotation, retention) that
// this store only executes. Thread-safe: each operation leases a connection from one pool and
// is bounded by storage.timeout_ms from its start (connection_pool.h).
//
// Each operation that writes more than one row, or reads before it writes, runs in one write
// transaction (sql_transaction.h) that locks what it reads: the whole database on SQLite, the
// rows read on PostgreSQL. Where the two former stores differed, this one keeps the stricter
// behaviour, and the conformance suite holds both engines to it:
// - Prune deletes in one transaction: all its deletions happen or none (PostgreSQL's ran each
//   statement on its own, so a failure could leave tokens behind their deleted session).
// - PutSettingIfAbsent inserts and reads back in one transaction.
// - AdmitLoginAttempt locks the username's attempts row (creating it when missing) and writes
//   it only when the decision changed it: a refused attempt under a lock in force writes
//   nothing, so a flood of attempts at a locked name costs no writes (PostgreSQL wrote always).
// - The connection pool's deadline also bounds SQLite's lock waits from the operation's start,
//   not from each wait's start.
// On SQLite, whose write transactions lock the whole database, concurrent write operations share
// one transaction and one commit (group_commit.h: each under a savepoint, each caller answered
// after the commit that holds its writes); on PostgreSQL each has its own.
#pragma once

#include <memory>

#include "store/connection_pool.h"
#include "store/dialect.h"
#include "store/group_commit.h"
#include "store/store.h"

namespace authgate {

class SqlStore final : public Store {
 public:
  // Creates or migrates the schema (sql_schema.h) before returning. Every operation, including
  // the migration, is bounded by `timeout_ms` (SPEC §10.1: storage.timeout_ms).
  static Result<std::unique_ptr<SqlStore>> Open(std::unique_ptr<Dialect> dialect, int timeout_ms);
  ~SqlStore() override;

  bool Ping() override;
  Result<std::vector<int64_t>> CreateUsers(const std::vector<NewUser>& users, int64_t now) override;
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

  std::optional<CommitGroupStats> CommitGroups() const override {
    if (!group_) return std::nullopt;
    return group_->stats();
  }

  // Where commits are grouped: `hook` runs after each group's commit, before any of its callers
  // returns (GroupCommit::set_after_commit). For fault injection; call before any operation.
  void SetAfterCommitHook(std::function<void()> hook) {
    if (group_) group_->set_after_commit(std::move(hook));
  }

 private:
  SqlStore(std::unique_ptr<Dialect> dialect, int timeout_ms);

  // Runs `body(connection)` on a leased connection; exceptions become Error values.
  template <typename T, typename Body>
  Result<T> WithConnection(Body&& body);
  // The same inside one write transaction, committed when `body` calls its Commit; where the
  // dialect groups commits, that transaction is shared with concurrent writers (group_commit.h)
  // and this returns after the shared commit.
  template <typename T, typename Body>
  Result<T> InTransaction(Body&& body);

  std::unique_ptr<Dialect> dialect_;
  ConnectionPool pool_;
  std::unique_ptr<GroupCommit> group_;  // null where the dialect does not group commits
};

}  // namespace authgate
