#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <filesystem>
#include <chrono>
#include <stdexcept>
#include <unordered_map>

#include "store/store_support.h"

namespace authgate {
namespace {

// Thrown inside this file only; every public operation converts it into an Error value.
struct SqlError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr int kSchemaVersion = 3;

// Version 1: the tables. Version 2 (SPEC §10.5): failure counts expire, and request-otp
// failures are counted in a window (their times) rather than as a streak; `otp_failures` is
// no longer read.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE login_attempts ADD COLUMN last_failure_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN otp_failure_times TEXT NOT NULL DEFAULT '';
)sql";

// Version 3: settings (the master key's check value).
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS settings(
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL) WITHOUT ROWID;
)sql";

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  totp_secret BLOB NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS login_attempts(
  username TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  locked_until INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS used_otp_steps(
  user_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  used_at INTEGER NOT NULL,
  PRIMARY KEY(user_id, step)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions(
  id TEXT PRIMARY KEY,
  user_id INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  otp_failures INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS refresh_tokens(
  hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  rotated INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS refresh_tokens_session ON refresh_tokens(session_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens(expires_at);
CREATE TABLE IF NOT EXISTS signing_keys(
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  secret BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  retired_at INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS changes(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS changes_at ON changes(at);
)sql";

}  // namespace

// One sqlite3 handle with its prepared statements; used by one thread at a time.
class SqliteConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    sqlite3_close(db_);
  }
  sqlite3* db() { return db_; }

  void Exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      throw SqlError(text);
    }
  }

  sqlite3_stmt* Prepare(const char* sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr) != SQLITE_OK) {
      throw SqlError(sqlite3_errmsg(db_));
    }
    statements_.emplace(sql, statement);
    return statement;
  }

 private:
  sqlite3* db_;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
};

namespace {

// A prepared statement in use: binds parameters in order, steps, and resets when done.
class Query {
 public:
  Query(SqliteConnection& connection, const char* sql)
      : connection_(connection), statement_(connection.Prepare(sql)) {}
  ~Query() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  Query& Bind(int64_t value) {
    Check(sqlite3_bind_int64(statement_, ++index_, value));
    return *this;
  }
  Query& Bind(const std::string& value) {
    Check(sqlite3_bind_text(statement_, ++index_, value.data(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }
  Query& BindBlob(const std::string& value) {
    Check(sqlite3_bind_blob(statement_, ++index_, value.data(), static_cast<int>(value.size()),
                            SQLITE_TRANSIENT));
    return *this;
  }

  // True when a row is available.
  bool Step() {
    int rc = sqlite3_step(statement_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw SqlError(sqlite3_errmsg(connection_.db()));
  }
  void Run() {
    while (Step()) {
    }
  }

  int64_t Int(int column) { return sqlite3_column_int64(statement_, column); }
  bool IsNull(int column) { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }
  std::string Text(int column) {
    const void* data = sqlite3_column_blob(statement_, column);
    int size = sqlite3_column_bytes(statement_, column);
    return data ? std::string(static_cast<const char*>(data), size) : std::string();
  }
  int Changes() { return sqlite3_changes(connection_.db()); }

 private:
  void Check(int rc) {
    if (rc != SQLITE_OK) throw SqlError(sqlite3_errmsg(connection_.db()));
  }
  SqliteConnection& connection_;
  sqlite3_stmt* statement_;
  int index_ = 0;
};

// Rolls back unless committed.
class Transaction {
 public:
  Transaction(SqliteConnection& connection, bool write) : connection_(connection) {
    connection_.Exec(write ? "BEGIN IMMEDIATE" : "BEGIN");
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(connection_.db(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void Commit() {
    connection_.Exec("COMMIT");
    done_ = true;
  }

 private:
  SqliteConnection& connection_;
  bool done_ = false;
};

void AppendChange(SqliteConnection& c, ChangeKind kind, const std::string& ref, int64_t now) {
  Query(c, "INSERT INTO changes(kind, ref, at) VALUES(?, ?, ?)")
      .Bind(ChangeKindName(kind))
      .Bind(ref)
      .Bind(now)
      .Run();
}

constexpr const char* kUserColumns =
    "SELECT id, username, password_hash, totp_secret, status, created_at, updated_at FROM users ";

UserRecord ReadUser(Query& q) {
  UserRecord user;
  user.id = q.Int(0);
  user.username = q.Text(1);
  user.password_hash = q.Text(2);
  user.totp_secret_sealed = q.Text(3);
  user.status = StatusFromText(q.Text(4));
  user.created_at = q.Int(5);
  user.updated_at = q.Int(6);
  return user;
}

AttemptState ReadAttempts(SqliteConnection& c, const std::string& username) {
  Query q(c,
          "SELECT count, locked_until, last_failure_at FROM login_attempts WHERE username = ?");
  q.Bind(username);
  if (!q.Step()) return AttemptState{};
  return AttemptState{static_cast<int>(q.Int(0)), q.Int(1), q.Int(2)};
}

void WriteAttempts(SqliteConnection& c, const std::string& username, const AttemptState& state) {
  if (state.count == 0 && state.locked_until == 0) {
    Query(c, "DELETE FROM login_attempts WHERE username = ?").Bind(username).Run();
    return;
  }
  Query(c,
        "INSERT INTO login_attempts(username, count, locked_until, last_failure_at) "
        "VALUES(?, ?, ?, ?) ON CONFLICT(username) DO UPDATE SET count = excluded.count, "
        "locked_until = excluded.locked_until, last_failure_at = excluded.last_failure_at")
      .Bind(username)
      .Bind(state.count)
      .Bind(state.locked_until)
      .Bind(state.last_failure_at)
      .Run();
}

int64_t RevokeSessionLocked(SqliteConnection& c, const std::string& session_id, int64_t now) {
  Query q(c, "UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL");
  q.Bind(now).Bind(session_id).Run();
  int changed = q.Changes();
  if (changed > 0) AppendChange(c, ChangeKind::kSession, session_id, now);
  return changed;
}

}  // namespace

class SqliteStore::Lease {
 public:
  Lease(SqliteStore& store, std::unique_ptr<SqliteConnection> connection)
      : store_(store), connection_(std::move(connection)) {}
  Lease(Lease&&) = default;
  ~Lease() {
    if (!connection_) return;
    std::lock_guard<std::mutex> lock(store_.mutex_);
    store_.idle_.push_back(std::move(connection_));
    store_.available_.notify_one();
  }
  SqliteConnection& operator*() { return *connection_; }

 private:
  SqliteStore& store_;
  std::unique_ptr<SqliteConnection> connection_;
};

namespace {

constexpr int kMaxConnections = 8;

std::unique_ptr<SqliteConnection> OpenConnection(const std::string& path, int timeout_ms) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw SqlError("cannot open SQLite database '" + path + "': " + message);
  }
  auto connection = std::make_unique<SqliteConnection>(db);
  sqlite3_busy_timeout(db, timeout_ms);
  connection->Exec("PRAGMA foreign_keys = ON");
  connection->Exec("PRAGMA synchronous = FULL");
  return connection;
}

}  // namespace

SqliteStore::Lease SqliteStore::Acquire() {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (idle_.empty() && open_connections_ >= kMaxConnections) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout) {
      throw SqlError("no SQLite connection free within storage.timeout_ms");
    }
  }
  if (!idle_.empty()) {
    std::unique_ptr<SqliteConnection> connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  ++open_connections_;
  lock.unlock();
  try {
    return Lease(*this, OpenConnection(path_, timeout_ms_));
  } catch (...) {
    std::lock_guard<std::mutex> relock(mutex_);
    --open_connections_;
    throw;
  }
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path, int timeout_ms) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return Error{"cannot create directory '" + parent.string() + "': " + ec.message()};
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(path, timeout_ms));
  Status migrated = GuardStoreStatus([&] {
    Lease lease = store->Acquire();
    SqliteConnection& c = *lease;
    c.Exec("PRAGMA journal_mode = WAL");
    Transaction tx(c, /*write=*/true);
    Query version(c, "PRAGMA user_version");
    version.Step();
    int64_t current = version.Int(0);
    if (current > kSchemaVersion) {
      throw SqlError("database schema version " + std::to_string(current) +
                     " is newer than this authgate (" + std::to_string(kSchemaVersion) + ")");
    }
    if (current < 1) c.Exec(kSchema);
    if (current < 2) c.Exec(kSchemaV2);
    if (current < 3) c.Exec(kSchemaV3);
    if (current < kSchemaVersion) {
      c.Exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    }
    tx.Commit();
  });
  if (!migrated) return Error{migrated.error()};
  return store;
}

SqliteStore::SqliteStore(std::string path, int timeout_ms)
    : path_(std::move(path)), timeout_ms_(timeout_ms) {}
SqliteStore::~SqliteStore() = default;

bool SqliteStore::Ping() {
  return GuardStore<bool>([&] {
           Lease lease = Acquire();
           Query(*lease, "SELECT 1").Step();
           return true;
         }).ok();
}

namespace {

// Inserts one user inside the caller's transaction; false when the username exists.
bool InsertUser(SqliteConnection& c, const NewUser& user, int64_t now, int64_t* id) {
  Query q(c,
          "INSERT INTO users(username, password_hash, totp_secret, status, created_at, "
          "updated_at) VALUES(?, ?, ?, ?, ?, ?) ON CONFLICT(username) DO NOTHING");
  q.Bind(user.username)
      .Bind(user.password_hash)
      .BindBlob(user.totp_secret_sealed)
      .Bind(std::string(AccountStatusName(user.status)))
      .Bind(now)
      .Bind(now)
      .Run();
  if (q.Changes() == 0) return false;
  *id = sqlite3_last_insert_rowid(c.db());
  return true;
}

}  // namespace

Result<std::vector<int64_t>> SqliteStore::CreateUsers(const std::vector<NewUser>& users,
                                                      int64_t now) {
  return GuardStore<std::vector<int64_t>>([&]() -> Result<std::vector<int64_t>> {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    std::vector<int64_t> ids;
    ids.reserve(users.size());
    for (size_t i = 0; i < users.size(); ++i) {
      int64_t id = 0;
      if (!InsertUser(c, users[i], now, &id)) {
        std::string where = users.size() > 1 ? " (entry " + std::to_string(i) + ")" : "";
        return Error{"user '" + users[i].username + "' already exists" + where};
      }
      ids.push_back(id);
    }
    tx.Commit();
    return ids;
  });
}

Result<std::optional<UserRecord>> SqliteStore::FindUserByName(const std::string& username) {
  return GuardStore<std::optional<UserRecord>>([&]() -> std::optional<UserRecord> {
    Lease lease = Acquire();
    static const std::string sql = std::string(kUserColumns) + "WHERE username = ?";
    Query q(*lease, sql.c_str());
    q.Bind(username);
    if (!q.Step()) return std::nullopt;
    return ReadUser(q);
  });
}

Result<std::optional<UserRecord>> SqliteStore::FindUserById(int64_t id) {
  return GuardStore<std::optional<UserRecord>>([&]() -> std::optional<UserRecord> {
    Lease lease = Acquire();
    static const std::string sql = std::string(kUserColumns) + "WHERE id = ?";
    Query q(*lease, sql.c_str());
    q.Bind(id);
    if (!q.Step()) return std::nullopt;
    return ReadUser(q);
  });
}

Result<std::vector<UserRecord>> SqliteStore::ListUsers() {
  return GuardStore<std::vector<UserRecord>>([&] {
    Lease lease = Acquire();
    static const std::string sql = std::string(kUserColumns) + "ORDER BY id";
    Query q(*lease, sql.c_str());
    std::vector<UserRecord> users;
    while (q.Step()) users.push_back(ReadUser(q));
    return users;
  });
}

Result<bool> SqliteStore::SetStatus(const std::string& username, AccountStatus status,
                                    int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    Query q(c, "SELECT id FROM users WHERE username = ?");
    q.Bind(username);
    if (!q.Step()) return false;
    int64_t id = q.Int(0);
    Query(c, "UPDATE users SET status = ?, updated_at = ? WHERE id = ?")
        .Bind(std::string(AccountStatusName(status)))
        .Bind(now)
        .Bind(id)
        .Run();
    AppendChange(c, ChangeKind::kUser, std::to_string(id), now);
    tx.Commit();
    return true;
  });
}

namespace {

// Replaces one credential column (the TOTP secret when `blob`) and revokes every live session
// of the user.
bool ReplaceCredential(SqliteConnection& c, const char* update_sql, const std::string& username,
                       const std::string& value, bool blob, int64_t now) {
  Transaction tx(c, true);
  Query q(c, "SELECT id FROM users WHERE username = ?");
  q.Bind(username);
  if (!q.Step()) return false;
  int64_t id = q.Int(0);
  Query update(c, update_sql);
  if (blob) update.BindBlob(value);
  else update.Bind(value);
  update.Bind(now).Bind(id).Run();
  Query(c, "UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
      .Bind(now)
      .Bind(id)
      .Run();
  // Codes of a new TOTP secret are new codes: the steps used with the old one do not apply.
  if (blob) Query(c, "DELETE FROM used_otp_steps WHERE user_id = ?").Bind(id).Run();
  AppendChange(c, ChangeKind::kUser, std::to_string(id), now);
  tx.Commit();
  return true;
}

}  // namespace

Result<bool> SqliteStore::SetPasswordHash(const std::string& username, const std::string& hash,
                                          int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    return ReplaceCredential(*lease,
                             "UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?",
                             username, hash, false, now);
  });
}

Result<bool> SqliteStore::SetTotpSecret(const std::string& username, const std::string& sealed,
                                        int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    return ReplaceCredential(*lease,
                             "UPDATE users SET totp_secret = ?, updated_at = ? WHERE id = ?",
                             username, sealed, true, now);
  });
}

Status SqliteStore::UpdatePasswordHash(int64_t user_id, const std::string& hash) {
  return GuardStoreStatus([&] {
    Lease lease = Acquire();
    Query(*lease, "UPDATE users SET password_hash = ? WHERE id = ?").Bind(hash).Bind(user_id).Run();
  });
}

Result<Admission> SqliteStore::AdmitLoginAttempt(const std::string& username, int64_t now,
                                                 const LockoutPolicy& policy) {
  return GuardStore<Admission>([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    AttemptState before = ReadAttempts(c, username);
    AdmissionResult result = AdmitAttempt(before, now, policy);
    if (result.next.count != before.count || result.next.locked_until != before.locked_until ||
        result.next.last_failure_at != before.last_failure_at) {
      WriteAttempts(c, username, result.next);
    }
    tx.Commit();
    return result.admission;
  });
}

Result<AttemptState> SqliteStore::RecordLoginFailure(const std::string& username, int64_t now,
                                                     const LockoutPolicy& policy) {
  return GuardStore<AttemptState>([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    AttemptState after = AfterFailure(ReadAttempts(c, username), now, policy);
    WriteAttempts(c, username, after);
    tx.Commit();
    return after;
  });
}

Status SqliteStore::RecordLoginSuccess(const std::string& username) {
  return GuardStoreStatus([&] {
    Lease lease = Acquire();
    WriteAttempts(*lease, username, AfterSuccess());
  });
}

Result<AttemptState> SqliteStore::GetAttemptState(const std::string& username) {
  return GuardStore<AttemptState>([&] {
    Lease lease = Acquire();
    return ReadAttempts(*lease, username);
  });
}

Result<bool> SqliteStore::CompleteLogin(const std::string& username, int64_t user_id,
                                        int64_t otp_step, const std::string& session_id,
                                        const std::string& refresh_hash,
                                        int64_t refresh_expires_at, int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    Query step(c,
               "INSERT INTO used_otp_steps(user_id, step, used_at) VALUES(?, ?, ?) "
               "ON CONFLICT DO NOTHING");
    step.Bind(user_id).Bind(otp_step).Bind(now).Run();
    if (step.Changes() != 1) return false;  // rolled back: nothing written
    WriteAttempts(c, username, AfterSuccess());
    Query(c, "INSERT INTO sessions(id, user_id, created_at) VALUES(?, ?, ?)")
        .Bind(session_id)
        .Bind(user_id)
        .Bind(now)
        .Run();
    Query(c,
          "INSERT INTO refresh_tokens(hash, session_id, expires_at, created_at) "
          "VALUES(?, ?, ?, ?)")
        .Bind(refresh_hash)
        .Bind(session_id)
        .Bind(refresh_expires_at)
        .Bind(now)
        .Run();
    tx.Commit();
    return true;
  });
}

Result<RotationResult> SqliteStore::RotateRefreshToken(const std::string& old_hash,
                                                       const std::string& new_hash,
                                                       int64_t new_expires_at, int64_t now) {
  return GuardStore<RotationResult>([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    RotationResult result;
    Query q(c,
            "SELECT t.session_id, t.expires_at, t.rotated, s.user_id, s.revoked_at, u.status "
            "FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id "
            "JOIN users u ON u.id = s.user_id WHERE t.hash = ?");
    q.Bind(old_hash);
    if (!q.Step()) return result;  // kUnknown
    result.session_id = q.Text(0);
    int64_t expires_at = q.Int(1);
    bool rotated = q.Int(2) != 0;
    result.user_id = q.Int(3);
    bool revoked = !q.IsNull(4);
    result.status = StatusFromText(q.Text(5));
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
      Query(c, "UPDATE refresh_tokens SET rotated = 1 WHERE hash = ?").Bind(old_hash).Run();
      Query(c,
            "INSERT INTO refresh_tokens(hash, session_id, expires_at, created_at) "
            "VALUES(?, ?, ?, ?)")
          .Bind(new_hash)
          .Bind(result.session_id)
          .Bind(new_expires_at)
          .Bind(now)
          .Run();
      result.outcome = RotationOutcome::kRotated;
    }
    tx.Commit();
    return result;
  });
}

Result<std::optional<SessionRecord>> SqliteStore::FindSession(const std::string& session_id) {
  return GuardStore<std::optional<SessionRecord>>([&]() -> std::optional<SessionRecord> {
    Lease lease = Acquire();
    Query q(*lease,
            "SELECT id, user_id, created_at, revoked_at, otp_failure_times FROM sessions "
            "WHERE id = ?");
    q.Bind(session_id);
    if (!q.Step()) return std::nullopt;
    SessionRecord session;
    session.id = q.Text(0);
    session.user_id = q.Int(1);
    session.created_at = q.Int(2);
    session.revoked = !q.IsNull(3);
    session.otp_failure_times = ParseOtpFailureTimes(q.Text(4));
    return session;
  });
}

Result<bool> SqliteStore::RevokeSession(const std::string& session_id, int64_t now) {
  return GuardStore<bool>([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    Query q(c, "SELECT 1 FROM sessions WHERE id = ?");
    q.Bind(session_id);
    bool exists = q.Step();
    if (exists) RevokeSessionLocked(c, session_id, now);
    tx.Commit();
    return exists;
  });
}

Result<OtpFailureOutcome> SqliteStore::RecordOtpFailure(const std::string& session_id,
                                                        const LockoutPolicy& policy,
                                                        int64_t now) {
  return GuardStore<OtpFailureOutcome>([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    Query q(c, "SELECT otp_failure_times FROM sessions WHERE id = ? AND revoked_at IS NULL");
    q.Bind(session_id);
    if (!q.Step()) return OtpFailureOutcome::kNotCounted;
    OtpFailureStep step = AddOtpFailure(ParseOtpFailureTimes(q.Text(0)), now, policy);
    Query(c, "UPDATE sessions SET otp_failure_times = ? WHERE id = ?")
        .Bind(FormatOtpFailureTimes(step.times))
        .Bind(session_id)
        .Run();
    if (step.revoke) RevokeSessionLocked(c, session_id, now);
    else AppendChange(c, ChangeKind::kSession, session_id, now);
    tx.Commit();
    return step.revoke ? OtpFailureOutcome::kRevoked : OtpFailureOutcome::kCounted;
  });
}

Result<std::vector<SigningKeyRecord>> SqliteStore::ListSigningKeys() {
  return GuardStore<std::vector<SigningKeyRecord>>([&] {
    Lease lease = Acquire();
    Query q(*lease,
            "SELECT kid, alg, secret, created_at, retired_at FROM signing_keys "
            "ORDER BY created_at, kid");
    std::vector<SigningKeyRecord> keys;
    while (q.Step()) {
      keys.push_back({q.Text(0), q.Text(1), q.Text(2), q.Int(3), q.Int(4)});
    }
    return keys;
  });
}

Status SqliteStore::AddSigningKey(const SigningKeyRecord& key, int64_t now) {
  return GuardStoreStatus([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    Query(c, "UPDATE signing_keys SET retired_at = ? WHERE retired_at = 0").Bind(now).Run();
    Query(c, "INSERT INTO signing_keys(kid, alg, secret, created_at) VALUES(?, ?, ?, ?)")
        .Bind(key.kid)
        .Bind(key.alg)
        .BindBlob(key.secret_sealed)
        .Bind(now)
        .Run();
    AppendChange(c, ChangeKind::kKeys, "", now);
    tx.Commit();
  });
}

Result<int64_t> SqliteStore::LatestChangeSeq() {
  return GuardStore<int64_t>([&] {
    Lease lease = Acquire();
    Query q(*lease, "SELECT COALESCE(MAX(seq), 0) FROM changes");
    q.Step();
    return q.Int(0);
  });
}

Result<std::vector<Change>> SqliteStore::ChangesSince(int64_t seq) {
  return GuardStore<std::vector<Change>>([&] {
    Lease lease = Acquire();
    Query q(*lease, "SELECT seq, kind, ref FROM changes WHERE seq > ? ORDER BY seq LIMIT 10000");
    q.Bind(seq);
    std::vector<Change> changes;
    while (q.Step()) {
      Change change;
      change.seq = q.Int(0);
      std::string kind = q.Text(1);
      change.kind = ParseChangeKind(kind);
      change.ref = q.Text(2);
      changes.push_back(std::move(change));
    }
    return changes;
  });
}

namespace {

std::optional<std::string> ReadSetting(SqliteConnection& c, const std::string& name) {
  Query q(c, "SELECT value FROM settings WHERE name = ?");
  q.Bind(name);
  if (!q.Step()) return std::nullopt;
  return q.Text(0);
}

}  // namespace

Result<std::optional<std::string>> SqliteStore::GetSetting(const std::string& name) {
  return GuardStore<std::optional<std::string>>([&] {
    Lease lease = Acquire();
    return ReadSetting(*lease, name);
  });
}

Result<std::string> SqliteStore::PutSettingIfAbsent(const std::string& name,
                                                    const std::string& value) {
  return GuardStore<std::string>([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    Query(c, "INSERT INTO settings(name, value) VALUES(?, ?) ON CONFLICT(name) DO NOTHING")
        .Bind(name)
        .BindBlob(value)
        .Run();
    std::string stored = ReadSetting(c, name).value();
    tx.Commit();
    return stored;
  });
}

Status SqliteStore::Prune(int64_t now, int64_t access_ttl_s, const LockoutPolicy& lockout) {
  return GuardStoreStatus([&] {
    Lease lease = Acquire();
    SqliteConnection& c = *lease;
    Transaction tx(c, true);
    // Sessions first: those whose every token is about to go (found through the expiry index).
    Query(c,
          "DELETE FROM sessions WHERE id IN (SELECT session_id FROM refresh_tokens "
          "WHERE expires_at <= ?1 AND created_at <= ?2) AND NOT EXISTS (SELECT 1 FROM "
          "refresh_tokens r WHERE r.session_id = sessions.id AND (r.expires_at > ?1 OR "
          "r.created_at > ?2))")
        .Bind(now)
        .Bind(now - access_ttl_s)
        .Run();
    Query(c, "DELETE FROM refresh_tokens WHERE expires_at <= ? AND created_at <= ?")
        .Bind(now)
        .Bind(now - access_ttl_s)
        .Run();
    Query(c, "DELETE FROM used_otp_steps WHERE used_at < ?").Bind(now - 3600).Run();
    Query(c, "DELETE FROM changes WHERE at < ?").Bind(now - 3600).Run();
    // core's Forgotten(): a lock that ended, or a count whose last failure has expired.
    Query(c,
          "DELETE FROM login_attempts WHERE (locked_until != 0 AND locked_until <= ?) OR "
          "(locked_until = 0 AND last_failure_at <= ?)")
        .Bind(now)
        .Bind(now - lockout.duration_s)
        .Run();
    tx.Commit();
  });
}

}  // namespace authgate
