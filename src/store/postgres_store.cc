#include "store/postgres_store.h"

#include <libpq-fe.h>

#include <chrono>
#include <stdexcept>

#include "store/pg_connection.h"
#include "store/store_support.h"

namespace authgate {
namespace {

constexpr int kSchemaVersion = 3;
constexpr int64_t kMigrationLock = 0x61757468676174;  // "authgat"
constexpr int64_t kChangeLogLock = 0x61757468636c67;  // "authclg"

// Version 1: the tables. Version 2 (SPEC §10.5): failure counts expire, and request-otp
// failures are counted in a window (their times) rather than as a streak; `otp_failures` is
// no longer read.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE login_attempts ADD COLUMN IF NOT EXISTS last_failure_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN IF NOT EXISTS otp_failure_times TEXT NOT NULL DEFAULT '';
)sql";

// Version 3: settings (the master key's check value).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS settings(
  name TEXT PRIMARY KEY,
  value BYTEA NOT NULL);
)sql";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users(
  id BIGSERIAL PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  totp_secret BYTEA NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS login_attempts(
  username TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  locked_until BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS used_otp_steps(
  user_id BIGINT NOT NULL,
  step BIGINT NOT NULL,
  used_at BIGINT NOT NULL,
  PRIMARY KEY(user_id, step));
CREATE TABLE IF NOT EXISTS sessions(
  id TEXT PRIMARY KEY,
  user_id BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT,
  otp_failures INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS refresh_tokens(
  hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  rotated BOOLEAN NOT NULL DEFAULT FALSE,
  created_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS refresh_tokens_session ON refresh_tokens(session_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens(expires_at);
CREATE TABLE IF NOT EXISTS signing_keys(
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  secret BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  retired_at BIGINT NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS changes(
  seq BIGSERIAL PRIMARY KEY,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS changes_at ON changes(at);
)sql";

}  // namespace

namespace {

// Executes and checks (PostgresConnection::Run): throws PgError for anything but a successful
// command or row set, and when the operation's deadline passes.
PgResult Run(PostgresConnection& c, const char* sql, const std::vector<Param>& params = {}) {
  return c.Run(sql, params);
}

class Transaction {
 public:
  explicit Transaction(PostgresConnection& connection) : connection_(connection) {
    Run(connection_, "BEGIN");
  }
  ~Transaction() {
    if (done_ || !connection_.healthy()) return;
    try {
      Run(connection_, "ROLLBACK");
    } catch (const PgError&) {
      // Broken now: the pool drops it, and the server rolls back when the session ends.
    }
  }
  void Commit() {
    Run(connection_, "COMMIT");
    done_ = true;
  }

 private:
  PostgresConnection& connection_;
  bool done_ = false;
};

// Appends to the change log; the advisory lock (held to commit) keeps seq in commit order.
void AppendChange(PostgresConnection& c, ChangeKind kind, const std::string& ref, int64_t now) {
  Run(c, "SELECT pg_advisory_xact_lock($1)", {kChangeLogLock});
  Run(c, "INSERT INTO changes(kind, ref, at) VALUES($1, $2, $3)",
      {ChangeKindName(kind), ref, now});
}

constexpr const char* kUserColumns =
    "SELECT id, username, password_hash, totp_secret, status, created_at, updated_at FROM users ";

UserRecord ReadUser(const PgResult& r, int row) {
  UserRecord user;
  user.id = r.Int(row, 0);
  user.username = r.Text(row, 1);
  user.password_hash = r.Text(row, 2);
  user.totp_secret_sealed = r.Bytes(row, 3);
  user.status = StatusFromText(r.Text(row, 4));
  user.created_at = r.Int(row, 5);
  user.updated_at = r.Int(row, 6);
  return user;
}

// Locks (creating if needed) the attempts row of `username` and returns its state.
AttemptState LockAttempts(PostgresConnection& c, const std::string& username) {
  Run(c,
      "INSERT INTO login_attempts(username, count, locked_until) VALUES($1, 0, 0) "
      "ON CONFLICT (username) DO NOTHING",
      {username});
  PgResult r = Run(c,
                   "SELECT count, locked_until, last_failure_at FROM login_attempts "
                   "WHERE username = $1 FOR UPDATE",
                   {username});
  return AttemptState{static_cast<int>(r.Int(0, 0)), r.Int(0, 1), r.Int(0, 2)};
}

void WriteAttempts(PostgresConnection& c, const std::string& username, const AttemptState& s) {
  if (s.count == 0 && s.locked_until == 0) {
    Run(c, "DELETE FROM login_attempts WHERE username = $1", {username});
    return;
  }
  Run(c,
      "UPDATE login_attempts SET count = $2, locked_until = $3, last_failure_at = $4 "
      "WHERE username = $1",
      {username, static_cast<int64_t>(s.count), s.locked_until, s.last_failure_at});
}

bool RevokeSessionLocked(PostgresConnection& c, const std::string& session_id, int64_t now) {
  PgResult r = Run(c, "UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                   {now, session_id});
  if (r.Affected() == 0) return false;
  AppendChange(c, ChangeKind::kSession, session_id, now);
  return true;
}

constexpr int kMaxConnections = 8;

}  // namespace

class PostgresStore::Lease {
 public:
  Lease(PostgresStore& store, std::unique_ptr<PostgresConnection> connection)
      : store_(store), connection_(std::move(connection)) {}
  Lease(Lease&&) = default;
  ~Lease() {
    if (!connection_) return;
    std::lock_guard<std::mutex> lock(store_.mutex_);
    if (connection_->healthy()) {
      store_.idle_.push_back(std::move(connection_));
    } else {
      // Broken: the server restarted or went away. Its idle siblings almost certainly are
      // broken too; drop them all so the next operations reconnect instead of failing.
      connection_.reset();
      store_.open_connections_ -= 1 + static_cast<int>(store_.idle_.size());
      store_.idle_.clear();
    }
    store_.available_.notify_one();
  }
  PostgresConnection& operator*() { return *connection_; }

 private:
  PostgresStore& store_;
  std::unique_ptr<PostgresConnection> connection_;
};

PostgresStore::PostgresStore(std::string url, int timeout_ms)
    : url_(std::move(url)), timeout_(timeout_ms) {}
PostgresStore::~PostgresStore() = default;

// Every operation starts here: its deadline (storage.timeout_ms from now) bounds the wait for a
// connection, the connect, and each statement after it.
PostgresStore::Lease PostgresStore::Acquire() {
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  std::unique_lock<std::mutex> lock(mutex_);
  while (idle_.empty() && open_connections_ >= kMaxConnections) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout) {
      throw PgError("no PostgreSQL connection free within storage.timeout_ms");
    }
  }
  if (!idle_.empty()) {
    std::unique_ptr<PostgresConnection> connection = std::move(idle_.back());
    idle_.pop_back();
    connection->set_deadline(deadline);
    return Lease(*this, std::move(connection));
  }
  ++open_connections_;
  lock.unlock();
  try {
    return Lease(*this, PostgresConnection::Connect(url_, static_cast<int>(timeout_.count()),
                                                    deadline));
  } catch (...) {
    {
      std::lock_guard<std::mutex> relock(mutex_);
      --open_connections_;
    }
    available_.notify_one();
    throw;
  }
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url,
                                                           int timeout_ms) {
  std::unique_ptr<PostgresStore> store(new PostgresStore(url, timeout_ms));
  Status migrated = GuardStoreStatus([&] {
    Lease lease = store->Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    Run(c, "SELECT pg_advisory_xact_lock($1)", {kMigrationLock});
    Run(c, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
    PgResult r = Run(c, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
    int64_t current = r.Int(0, 0);
    if (current > kSchemaVersion) {
      throw PgError("database schema version " + std::to_string(current) +
                    " is newer than this authgate (" + std::to_string(kSchemaVersion) + ")");
    }
    if (current < 1) c.RunScript(kSchema);
    if (current < 2) c.RunScript(kSchemaV2);
    if (current < 3) c.RunScript(kSchemaV3);
    if (current < kSchemaVersion) {
      Run(c, "DELETE FROM schema_version");
      Run(c, "INSERT INTO schema_version(version) VALUES($1)",
          {static_cast<int64_t>(kSchemaVersion)});
    }
    tx.Commit();
  });
  if (!migrated) return Error{migrated.error()};
  return store;
}

bool PostgresStore::Ping() {
  return GuardStore<bool>([&] {
           Lease lease = Acquire();
           Run(*lease, "SELECT 1");
           return true;
         }).ok();
}

Result<std::vector<int64_t>> PostgresStore::CreateUsers(const std::vector<NewUser>& users,
                                                        int64_t now) {
  return GuardStore<std::vector<int64_t>>([&]() -> Result<std::vector<int64_t>> {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    std::vector<int64_t> ids;
    ids.reserve(users.size());
    for (size_t i = 0; i < users.size(); ++i) {
      const NewUser& user = users[i];
      PgResult r = Run(c,
                       "INSERT INTO users(username, password_hash, totp_secret, status, "
                       "created_at, updated_at) VALUES($1, $2, $3, $4, $5, $5) "
                       "ON CONFLICT (username) DO NOTHING RETURNING id",
                       {user.username, user.password_hash, Param::Bytes(user.totp_secret_sealed),
                        std::string(AccountStatusName(user.status)), now});
      if (r.Rows() == 0) {
        std::string where = users.size() > 1 ? " (entry " + std::to_string(i) + ")" : "";
        return Error{"user '" + user.username + "' already exists" + where};
      }
      ids.push_back(r.Int(0, 0));
    }
    tx.Commit();
    return ids;
  });
}

Result<std::optional<UserRecord>> PostgresStore::FindUserByName(const std::string& username) {
  return GuardStore<std::optional<UserRecord>>([&]() -> std::optional<UserRecord> {
    Lease lease = Acquire();
    static const std::string sql = std::string(kUserColumns) + "WHERE username = $1";
    PgResult r = Run(*lease, sql.c_str(), {username});
    if (r.Rows() == 0) return std::nullopt;
    return ReadUser(r, 0);
  });
}

Result<std::optional<UserRecord>> PostgresStore::FindUserById(int64_t id) {
  return GuardStore<std::optional<UserRecord>>([&]() -> std::optional<UserRecord> {
    Lease lease = Acquire();
    static const std::string sql = std::string(kUserColumns) + "WHERE id = $1";
    PgResult r = Run(*lease, sql.c_str(), {id});
    if (r.Rows() == 0) return std::nullopt;
    return ReadUser(r, 0);
  });
}

Result<std::vector<UserRecord>> PostgresStore::ListUsers() {
  return GuardStore<std::vector<UserRecord>>([&] {
    Lease lease = Acquire();
    static const std::string sql = std::string(kUserColumns) + "ORDER BY id";
    PgResult r = Run(*lease, sql.c_str());
    std::vector<UserRecord> users;
    for (int row = 0; row < r.Rows(); ++row) users.push_back(ReadUser(r, row));
    return users;
  });
}

Result<bool> PostgresStore::SetStatus(const std::string& username, AccountStatus status,
                                      int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    PgResult r = Run(c, "UPDATE users SET status = $1, updated_at = $2 WHERE username = $3 RETURNING id",
                     {std::string(AccountStatusName(status)), now, username});
    if (r.Rows() == 0) return false;
    AppendChange(c, ChangeKind::kUser, r.Text(0, 0), now);
    tx.Commit();
    return true;
  });
}

namespace {

// Replaces one credential column (the TOTP secret when `is_totp`) and revokes every live
// session of the user, in one transaction.
bool ReplaceCredential(PostgresConnection& c, const char* update_sql, const std::string& username,
                       const Param& value, bool is_totp, int64_t now) {
  Transaction tx(c);
  PgResult r = Run(c, update_sql, {value, now, username});
  if (r.Rows() == 0) return false;
  std::string id = r.Text(0, 0);
  Run(c, "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
      {now, id});
  // Codes of a new TOTP secret are new codes: the steps used with the old one do not apply.
  if (is_totp) Run(c, "DELETE FROM used_otp_steps WHERE user_id = $1", {id});
  AppendChange(c, ChangeKind::kUser, id, now);
  tx.Commit();
  return true;
}

}  // namespace

Result<bool> PostgresStore::SetPasswordHash(const std::string& username, const std::string& hash,
                                            int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    return ReplaceCredential(
        *lease,
        "UPDATE users SET password_hash = $1, updated_at = $2 WHERE username = $3 RETURNING id",
        username, Param(hash), false, now);
  });
}

Result<bool> PostgresStore::SetTotpSecret(const std::string& username, const std::string& sealed,
                                          int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    return ReplaceCredential(
        *lease,
        "UPDATE users SET totp_secret = $1, updated_at = $2 WHERE username = $3 RETURNING id",
        username, Param::Bytes(sealed), true, now);
  });
}

Status PostgresStore::UpdatePasswordHash(int64_t user_id, const std::string& hash) {
  return GuardStoreStatus([&] {
    Lease lease = Acquire();
    Run(*lease, "UPDATE users SET password_hash = $1 WHERE id = $2", {hash, user_id});
  });
}

Result<Admission> PostgresStore::AdmitLoginAttempt(const std::string& username, int64_t now,
                                                   const LockoutPolicy& policy) {
  return GuardStore<Admission>([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    AdmissionResult result = AdmitAttempt(LockAttempts(c, username), now, policy);
    WriteAttempts(c, username, result.next);
    tx.Commit();
    return result.admission;
  });
}

Result<AttemptState> PostgresStore::RecordLoginFailure(const std::string& username, int64_t now,
                                                       const LockoutPolicy& policy) {
  return GuardStore<AttemptState>([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    AttemptState after = AfterFailure(LockAttempts(c, username), now, policy);
    WriteAttempts(c, username, after);
    tx.Commit();
    return after;
  });
}

Status PostgresStore::RecordLoginSuccess(const std::string& username) {
  return GuardStoreStatus([&] {
    Lease lease = Acquire();
    Run(*lease, "DELETE FROM login_attempts WHERE username = $1", {username});
  });
}

Result<AttemptState> PostgresStore::GetAttemptState(const std::string& username) {
  return GuardStore<AttemptState>([&] {
    Lease lease = Acquire();
    PgResult r = Run(*lease,
                     "SELECT count, locked_until, last_failure_at FROM login_attempts "
                     "WHERE username = $1",
                     {username});
    if (r.Rows() == 0) return AttemptState{};
    return AttemptState{static_cast<int>(r.Int(0, 0)), r.Int(0, 1), r.Int(0, 2)};
  });
}

Result<bool> PostgresStore::CompleteLogin(const std::string& username, int64_t user_id,
                                          int64_t otp_step, const std::string& session_id,
                                          const std::string& refresh_hash,
                                          int64_t refresh_expires_at, int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    PgResult step = Run(c,
                        "INSERT INTO used_otp_steps(user_id, step, used_at) VALUES($1, $2, $3) "
                        "ON CONFLICT DO NOTHING",
                        {user_id, otp_step, now});
    if (step.Affected() != 1) return false;  // rolled back: nothing written
    WriteAttempts(c, username, AfterSuccess());
    Run(c, "INSERT INTO sessions(id, user_id, created_at) VALUES($1, $2, $3)",
        {session_id, user_id, now});
    Run(c,
        "INSERT INTO refresh_tokens(hash, session_id, expires_at, created_at) "
        "VALUES($1, $2, $3, $4)",
        {refresh_hash, session_id, refresh_expires_at, now});
    tx.Commit();
    return true;
  });
}

Result<RotationResult> PostgresStore::RotateRefreshToken(const std::string& old_hash,
                                                         const std::string& new_hash,
                                                         int64_t new_expires_at, int64_t now) {
  return GuardStore<RotationResult>([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    RotationResult result;
    // Locking the token and its session serializes rotations and revocations of the session.
    PgResult r = Run(c,
                     "SELECT t.session_id, t.expires_at, t.rotated, s.user_id, s.revoked_at, "
                     "u.status FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id "
                     "JOIN users u ON u.id = s.user_id WHERE t.hash = $1 FOR UPDATE OF t, s",
                     {old_hash});
    if (r.Rows() == 0) return result;  // kUnknown
    result.session_id = r.Text(0, 0);
    int64_t expires_at = r.Int(0, 1);
    bool rotated = r.Bool(0, 2);
    result.user_id = r.Int(0, 3);
    bool revoked = !r.IsNull(0, 4);
    result.status = StatusFromText(r.Text(0, 5));
    if (revoked) {
      result.outcome = RotationOutcome::kRevoked;
    } else if (rotated) {
      RevokeSessionLocked(c, result.session_id, now);
      result.outcome = RotationOutcome::kReuseDetected;
    } else if (expires_at <= now) {
      result.outcome = RotationOutcome::kExpired;
    } else if (result.status != AccountStatus::kActive) {
      result.outcome = RotationOutcome::kAccountBlocked;
    } else {
      Run(c, "UPDATE refresh_tokens SET rotated = TRUE WHERE hash = $1", {old_hash});
      Run(c,
          "INSERT INTO refresh_tokens(hash, session_id, expires_at, created_at) "
          "VALUES($1, $2, $3, $4)",
          {new_hash, result.session_id, new_expires_at, now});
      result.outcome = RotationOutcome::kRotated;
    }
    tx.Commit();
    return result;
  });
}

Result<std::optional<SessionRecord>> PostgresStore::FindSession(const std::string& session_id) {
  return GuardStore<std::optional<SessionRecord>>([&]() -> std::optional<SessionRecord> {
    Lease lease = Acquire();
    PgResult r = Run(*lease,
                     "SELECT id, user_id, created_at, revoked_at, otp_failure_times "
                     "FROM sessions WHERE id = $1",
                     {session_id});
    if (r.Rows() == 0) return std::nullopt;
    SessionRecord session;
    session.id = r.Text(0, 0);
    session.user_id = r.Int(0, 1);
    session.created_at = r.Int(0, 2);
    session.revoked = !r.IsNull(0, 3);
    session.otp_failure_times = ParseOtpFailureTimes(r.Text(0, 4));
    return session;
  });
}

Result<bool> PostgresStore::RevokeSession(const std::string& session_id, int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    PgResult r = Run(c, "SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", {session_id});
    bool exists = r.Rows() > 0;
    if (exists) RevokeSessionLocked(c, session_id, now);
    tx.Commit();
    return exists;
  });
}

Result<OtpFailureOutcome> PostgresStore::RecordOtpFailure(const std::string& session_id,
                                                          const LockoutPolicy& policy,
                                                          int64_t now) {
  return GuardStore<OtpFailureOutcome>([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    PgResult r = Run(c,
                     "SELECT otp_failure_times FROM sessions "
                     "WHERE id = $1 AND revoked_at IS NULL FOR UPDATE",
                     {session_id});
    if (r.Rows() == 0) return OtpFailureOutcome::kNotCounted;
    OtpFailureStep step = AddOtpFailure(ParseOtpFailureTimes(r.Text(0, 0)), now, policy);
    Run(c, "UPDATE sessions SET otp_failure_times = $2 WHERE id = $1",
        {session_id, FormatOtpFailureTimes(step.times)});
    if (step.revoke) RevokeSessionLocked(c, session_id, now);
    else AppendChange(c, ChangeKind::kSession, session_id, now);
    tx.Commit();
    return step.revoke ? OtpFailureOutcome::kRevoked : OtpFailureOutcome::kCounted;
  });
}

Result<std::vector<SigningKeyRecord>> PostgresStore::ListSigningKeys() {
  return GuardStore<std::vector<SigningKeyRecord>>([&] {
    Lease lease = Acquire();
    PgResult r = Run(*lease,
                     "SELECT kid, alg, secret, created_at, retired_at FROM signing_keys "
                     "ORDER BY created_at, kid");
    std::vector<SigningKeyRecord> keys;
    for (int row = 0; row < r.Rows(); ++row) {
      keys.push_back({r.Text(row, 0), r.Text(row, 1), r.Bytes(row, 2), r.Int(row, 3),
                      r.Int(row, 4)});
    }
    return keys;
  });
}

Status PostgresStore::AddSigningKey(const SigningKeyRecord& key, int64_t now) {
  return GuardStoreStatus([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    Transaction tx(c);
    Run(c, "UPDATE signing_keys SET retired_at = $1 WHERE retired_at = 0", {now});
    Run(c, "INSERT INTO signing_keys(kid, alg, secret, created_at) VALUES($1, $2, $3, $4)",
        {key.kid, key.alg, Param::Bytes(key.secret_sealed), now});
    AppendChange(c, ChangeKind::kKeys, "", now);
    tx.Commit();
  });
}

Result<int64_t> PostgresStore::LatestChangeSeq() {
  return GuardStore<int64_t>([&] {
    Lease lease = Acquire();
    return Run(*lease, "SELECT COALESCE(MAX(seq), 0) FROM changes").Int(0, 0);
  });
}

Result<std::vector<Change>> PostgresStore::ChangesSince(int64_t seq) {
  return GuardStore<std::vector<Change>>([&] {
    Lease lease = Acquire();
    PgResult r = Run(*lease,
                     "SELECT seq, kind, ref FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000",
                     {seq});
    std::vector<Change> changes;
    for (int row = 0; row < r.Rows(); ++row) {
      Change change;
      change.seq = r.Int(row, 0);
      std::string kind = r.Text(row, 1);
      change.kind = ParseChangeKind(kind);
      change.ref = r.Text(row, 2);
      changes.push_back(std::move(change));
    }
    return changes;
  });
}

Result<std::optional<std::string>> PostgresStore::GetSetting(const std::string& name) {
  return GuardStore<std::optional<std::string>>([&]() -> std::optional<std::string> {
    Lease lease = Acquire();
    PgResult r = Run(*lease, "SELECT value FROM settings WHERE name = $1", {name});
    if (r.Rows() == 0) return std::nullopt;
    return r.Bytes(0, 0);
  });
}

Result<std::string> PostgresStore::PutSettingIfAbsent(const std::string& name,
                                                      const std::string& value) {
  return GuardStore<std::string>([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    // Settings are never deleted: once the insert is done (ours or another's), the row stays.
    Run(c, "INSERT INTO settings(name, value) VALUES($1, $2) ON CONFLICT (name) DO NOTHING",
        {name, Param::Bytes(value)});
    return Run(c, "SELECT value FROM settings WHERE name = $1", {name}).Bytes(0, 0);
  });
}

Status PostgresStore::Prune(int64_t now, int64_t access_ttl_s, const LockoutPolicy& lockout) {
  return GuardStoreStatus([&] {
    Lease lease = Acquire();
    PostgresConnection& c = *lease;
    // Sessions first: those whose every token is about to go. No token can be added to such a
    // session meanwhile (a rotation needs an unexpired token); if the second statement fails,
    // the tokens it left (their session gone: they answer as unknown) go at the next prune.
    Run(c,
        "DELETE FROM sessions WHERE id IN (SELECT session_id FROM refresh_tokens "
        "WHERE expires_at <= $1 AND created_at <= $2) AND NOT EXISTS (SELECT 1 FROM "
        "refresh_tokens r WHERE r.session_id = sessions.id AND (r.expires_at > $1 OR "
        "r.created_at > $2))",
        {now, now - access_ttl_s});
    Run(c, "DELETE FROM refresh_tokens WHERE expires_at <= $1 AND created_at <= $2",
        {now, now - access_ttl_s});
    Run(c, "DELETE FROM used_otp_steps WHERE used_at < $1", {now - 3600});
    Run(c, "DELETE FROM changes WHERE at < $1", {now - 3600});
    // core's Forgotten(): a lock that ended, or a count whose last failure has expired.
    Run(c,
        "DELETE FROM login_attempts WHERE (locked_until != 0 AND locked_until <= $1) OR "
        "(locked_until = 0 AND last_failure_at <= $2)",
        {now, now - lockout.duration_s});
  });
}

}  // namespace authgate
