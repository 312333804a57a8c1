#include "store/sql_store.h"

#include <algorithm>
#include <unordered_map>

#include "core/refresh_rotation.h"
#include "core/refresh_token.h"
#include "core/retention.h"
#include "core/session_liveness.h"
#include "store/sql_schema.h"
#include "store/sql_transaction.h"
#include "store/store_support.h"

namespace authgate {
namespace {

using Rows = std::unique_ptr<SqlRows>;

// Appends to the change log under the dialect's ordering lock (held to commit).
void AppendChange(const Dialect& dialect, SqlConnection& c, ChangeKind kind, const std::string& ref,
                  int64_t now) {
  dialect.LockChangeLog(c);
  c.Run("INSERT INTO changes(kind, ref, at) VALUES($1, $2, $3)", {ChangeKindName(kind), ref, now});
}

constexpr const char* kUserColumns =
    "SELECT id, username, password_hash, totp_secret, status, created_at, updated_at, "
    "login_otp_failures, held_at FROM users ";

UserRecord ReadUser(const SqlRows& r, int row) {
  UserRecord user;
  user.id = r.Int(row, 0);
  user.username = r.Text(row, 1);
  user.password_hash = r.Text(row, 2);
  user.totp_secret_sealed = r.Bytes(row, 3);
  user.status = StatusFromText(r.Text(row, 4));
  user.created_at = r.Int(row, 5);
  user.updated_at = r.Int(row, 6);
  user.login_otp_failures = static_cast<int>(r.Int(row, 7));
  user.held_at = r.Int(row, 8);
  return user;
}

std::optional<UserRecord> FirstUser(const SqlRows& r) {
  if (r.Count() == 0) return std::nullopt;
  return ReadUser(r, 0);
}

AttemptState ReadAttempts(const SqlRows& r) {
  if (r.Count() == 0) return AttemptState{};
  return AttemptState{static_cast<int>(r.Int(0, 0)), r.Int(0, 1), r.Int(0, 2)};
}

struct LockedAttempts {
  AttemptState state;
  bool created = false;  // the row did not exist: it must be written or deleted again
};

// Locks the attempts row of `username`, creating it first so that there is a row to lock even
// for a name never seen (concurrent creators wait on its key).
LockedAttempts LockAttempts(SqlConnection& c, const std::string& username) {
  Rows created = c.Run(
      "INSERT INTO login_attempts(username, count, locked_until) VALUES($1, 0, 0) "
      "ON CONFLICT (username) DO NOTHING",
      {username});
  Rows r = c.Run(
      "SELECT count, locked_until, last_failure_at FROM login_attempts WHERE username = $1 "
      "FOR UPDATE",
      {username});
  return LockedAttempts{ReadAttempts(*r), created->Affected() > 0};
}

// A state that counts nothing is no row at all.
void WriteAttempts(SqlConnection& c, const std::string& username, const AttemptState& state) {
  if (state.count == 0 && state.locked_until == 0) {
    c.Run("DELETE FROM login_attempts WHERE username = $1", {username});
    return;
  }
  c.Run(
      "INSERT INTO login_attempts(username, count, locked_until, last_failure_at) "
      "VALUES($1, $2, $3, $4) ON CONFLICT (username) DO UPDATE SET count = excluded.count, "
      "locked_until = excluded.locked_until, last_failure_at = excluded.last_failure_at",
      {username, state.count, state.locked_until, state.last_failure_at});
}

bool HeldByName(SqlConnection& c, const std::string& username) {
  Rows r = c.Run("SELECT held_at FROM users WHERE username = $1", {username});
  return r->Count() > 0 && r->Int(0, 0) != 0;
}

// A proven login clears both counts: the §2 failures of its name and the wrong otps of §10.3.
void ClearLoginCounts(SqlConnection& c, const LoginFinish& login) {
  WriteAttempts(c, login.username, AfterSuccess());
  c.Run("UPDATE users SET login_otp_failures = 0 WHERE id = $1 AND login_otp_failures <> 0",
        {login.user_id});
}

// Consumes `step` for the user; false, with nothing written, when it was used before.
bool ConsumeOtpStep(SqlConnection& c, const LoginFinish& login, int64_t step) {
  Rows r = c.Run(
      "INSERT INTO used_otp_steps(user_id, step, used_at) VALUES($1, $2, $3) "
      "ON CONFLICT DO NOTHING",
      {login.user_id, step, login.now});
  return r->Affected() == 1;
}

// Stores a refresh token (the hash of its secret) and gives its id.
int64_t InsertRefreshToken(SqlConnection& c, const std::string& hash,
                           const std::string& session_id, int64_t expires_at, int64_t now) {
  Rows r = c.Run(
      "INSERT INTO refresh_tokens(hash, session_id, expires_at, created_at) "
      "VALUES($1, $2, $3, $4) RETURNING id",
      {hash, session_id, expires_at, now});
  if (r->Count() != 1) throw SqlError("refresh token insert returned no id");
  return r->Int(0, 0);
}

// Creates the login's session and its first refresh token; gives the token's id.
int64_t CreateSession(SqlConnection& c, const LoginFinish& login) {
  c.Run(
      "INSERT INTO sessions(id, user_id, created_at, expires_at, address, user_agent) "
      "VALUES($1, $2, $3, $4, $5, $6)",
      {login.session_id, login.user_id, login.now, login.refresh_expires_at, login.address,
       login.user_agent});
  return InsertRefreshToken(c, login.refresh_hash, login.session_id, login.refresh_expires_at,
                            login.now);
}

// The user's row, locked: its count of wrong otps and whether it holds.
struct HoldState {
  bool exists = false;
  int failures = 0;
  bool held = false;
};

HoldState LockHoldState(SqlConnection& c, int64_t user_id) {
  Rows r = c.Run("SELECT login_otp_failures, held_at FROM users WHERE id = $1 FOR UPDATE",
                 {user_id});
  if (r->Count() == 0) return HoldState{};
  return HoldState{true, static_cast<int>(r->Int(0, 0)), r->Int(0, 1) != 0};
}

// A failed finish: a §2 failure of the name and, unless the account held already, one wrong
// otp toward the hold.
void CountLoginFailure(SqlConnection& c, const LoginFinish& login, const HoldState& before,
                       LoginResult& result) {
  result.attempts =
      AfterFailure(LockAttempts(c, login.username).state, login.now, login.lockout);
  WriteAttempts(c, login.username, result.attempts);
  if (!before.exists || before.held) return;
  const HoldStep hold = AfterOtpFailure(before.failures, login.lockout);
  if (hold.failures == before.failures) return;  // no hold configured
  c.Run("UPDATE users SET login_otp_failures = $1, held_at = $2 WHERE id = $3",
        {hold.failures, hold.held ? login.now : int64_t{0}, login.user_id});
  result.now_held = hold.held;
}

bool RevokeSessionLocked(const Dialect& dialect, SqlConnection& c, const std::string& session_id,
                         int64_t now) {
  Rows r = c.Run("UPDATE sessions SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
                 {now, session_id});
  if (r->Affected() == 0) return false;
  AppendChange(dialect, c, ChangeKind::kSession, session_id, now);
  return true;
}

// The live sessions of one user (core/session_liveness.h), over the first three parameters of
// LiveSessionParameters; a statement's own parameters follow from $4.
constexpr const char* kLiveSessionOfUser =
    "user_id = $1 AND revoked_at IS NULL AND "
    "(expires_at > $2 OR created_at > $3 OR refreshed_at > $3)";

std::vector<SqlValue> LiveSessionParameters(int64_t user_id, int64_t now, int64_t access_ttl_s) {
  const LiveSessionHorizons h = LiveSessionHorizonsAt(now, access_ttl_s);
  return {user_id, h.refresh_expires_after, h.access_issued_after};
}

// "INSERT INTO users(...) VALUES (...), (...) ON CONFLICT DO NOTHING RETURNING id, username"
// for `rows` users; each row's created_at and updated_at are the same parameter.
std::string InsertUsersStatement(size_t rows) {
  std::string sql =
      "INSERT INTO users(username, password_hash, totp_secret, status, created_at, updated_at) "
      "VALUES ";
  for (size_t row = 0; row < rows; ++row) {
    const size_t p = row * 5;
    auto n = [&](size_t i) { return "$" + std::to_string(p + i); };
    sql += (row ? ", (" : "(") + n(1) + ", " + n(2) + ", " + n(3) + ", " + n(4) + ", " + n(5) +
           ", " + n(5) + ")";
  }
  return sql + " ON CONFLICT (username) DO NOTHING RETURNING id, username";
}

// Inserts users[begin, end) in one statement and appends their ids; an error names the first
// of them that was not inserted (its name exists, or came earlier in the batch).
Status InsertUsers(SqlConnection& c, const std::vector<NewUser>& users, size_t begin, size_t end,
                   int64_t now, std::vector<int64_t>& ids) {
  std::vector<SqlValue> params;
  params.reserve((end - begin) * 5);
  for (size_t i = begin; i < end; ++i) {
    params.insert(params.end(), {users[i].username, users[i].password_hash,
                                 SqlValue::Bytes(users[i].totp_secret_sealed),
                                 std::string(AccountStatusName(users[i].status)), now});
  }
  Rows r = c.Run(InsertUsersStatement(end - begin), params);
  std::unordered_map<std::string, int64_t> inserted;
  for (int row = 0; row < r->Count(); ++row) inserted.emplace(r->Text(row, 1), r->Int(row, 0));
  for (size_t i = begin; i < end; ++i) {
    auto it = inserted.find(users[i].username);
    if (it == inserted.end()) {
      return Error{"user '" + users[i].username + "' already exists", ErrorCode::kAlreadyExists, i};
    }
    ids.push_back(it->second);
    inserted.erase(it);  // a second entry of one name in the batch is the one that failed
  }
  return Status::Ok();
}

enum class Credential { kPasswordHash, kTotpSecret };

// Replaces one credential and revokes every live session of the user, committing `tx`; a new
// TOTP secret also forgets the steps used with the old one (its codes are new codes).
UserUpdate ReplaceCredential(const Dialect& dialect, SqlConnection& c, SqlTransaction& tx,
                             Credential credential, const std::string& username,
                             const std::string& value, int64_t now) {
  const bool totp = credential == Credential::kTotpSecret;
  const char* update =
      totp
          ? "UPDATE users SET totp_secret = $1, updated_at = $2 WHERE username = $3 RETURNING id"
          : "UPDATE users SET password_hash = $1, updated_at = $2 WHERE username = $3 RETURNING id";
  Rows r = c.Run(update, {totp ? SqlValue::Bytes(value) : SqlValue(value), now, username});
  if (r->Count() == 0) return UserUpdate::kNoSuchUser;
  const int64_t id = r->Int(0, 0);
  c.Run("UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL", {now, id});
  if (totp) c.Run("DELETE FROM used_otp_steps WHERE user_id = $1", {id});
  AppendChange(dialect, c, ChangeKind::kUser, std::to_string(id), now);
  tx.Commit();
  return UserUpdate::kUpdated;
}

// Whether the token a rotation stored is still current. A statement of its own, after the
// session's lock is held: PostgreSQL re-reads only the locked rows of a statement that waited
// for their lock, so a join would see the successor as it was before the wait — not yet there.
// (It can only be rotated under the same session lock.)
// A successor is named by its id, or (rotated before schema 9) by its hash.
bool SuccessorIsCurrent(SqlConnection& c, int64_t next_id, const std::string& next_hash) {
  Rows r;
  if (next_id != 0) {
    r = c.Run("SELECT rotated FROM refresh_tokens WHERE id = $1", {next_id});
  } else if (!next_hash.empty()) {
    r = c.Run("SELECT rotated FROM refresh_tokens WHERE hash = $1 AND legacy", {next_hash});
  } else {
    return false;
  }
  return r->Count() > 0 && !r->Bool(0, 0);
}

// The presented token's row (by its id, or a token of before schema 9 by its hash only: one
// spelling per token) with its session's and account's facts; the token and its session
// locked, which serializes rotations and revocations of the session. Columns: id, hash,
// session_id, expires_at, rotated, user_id, revoked_at, status, rotated_at, next_id, next_hash.
Rows LockRefreshToken(SqlConnection& c, const RefreshKey& key) {
  static const std::string kSelect =
      "SELECT t.id, t.hash, t.session_id, t.expires_at, t.rotated, s.user_id, s.revoked_at, "
      "u.status, t.rotated_at, t.next_id, t.next_hash FROM refresh_tokens t "
      "JOIN sessions s ON s.id = t.session_id JOIN users u ON u.id = s.user_id WHERE ";
  if (key.id != 0) {
    return c.Run(kSelect + "t.id = $1 AND NOT t.legacy FOR UPDATE OF t, s", {key.id});
  }
  return c.Run(kSelect + "t.hash = $1 AND t.legacy FOR UPDATE OF t, s", {key.hash});
}

RotationOutcome OutcomeOf(RotationVerdict verdict) {
  switch (verdict) {
    case RotationVerdict::kRotate:
      return RotationOutcome::kRotated;
    case RotationVerdict::kReuseDetected:
      return RotationOutcome::kReuseDetected;
    case RotationVerdict::kSessionRevoked:
      return RotationOutcome::kRevoked;
    case RotationVerdict::kExpired:
      return RotationOutcome::kExpired;
    case RotationVerdict::kAccountBlocked:
      return RotationOutcome::kAccountBlocked;
    case RotationVerdict::kReplay:
      return RotationOutcome::kReplayed;
  }
  return RotationOutcome::kUnknown;
}

std::optional<std::string> ReadSetting(SqlConnection& c, const std::string& name) {
  Rows r = c.Run("SELECT value FROM settings WHERE name = $1", {name});
  if (r->Count() == 0) return std::nullopt;
  return r->Bytes(0, 0);
}

}  // namespace

template <typename T, typename Body>
Result<T> SqlStore::WithConnection(Body&& body) {
  return GuardStore<T>([&]() -> Result<T> {
    ConnectionPool::Lease lease = pool_.Acquire();
    return body(*lease);
  });
}

template <typename T, typename Body>
Result<T> SqlStore::InTransaction(Body&& body) {
  if (!group_) {
    return WithConnection<T>([&](SqlConnection& c) -> Result<T> {
      SqlTransaction transaction(*dialect_, c);
      return body(c, transaction);
    });
  }
  std::optional<Result<T>> out;
  std::optional<Error> failed = group_->Run([&](SqlConnection& c) {
    SqlTransaction transaction(*dialect_, c, SqlTransaction::Mode::kGrouped);
    out.emplace(body(c, transaction));
  });
  if (failed) return *failed;
  return std::move(*out);
}

SqlStore::SqlStore(std::unique_ptr<Dialect> dialect, int timeout_ms)
    : dialect_(std::move(dialect)),
      pool_(*dialect_, timeout_ms),
      group_(dialect_->groups_commits()
                 ? std::make_unique<GroupCommit>(pool_, *dialect_, timeout_ms)
                 : nullptr) {}
SqlStore::~SqlStore() = default;

Result<std::unique_ptr<SqlStore>> SqlStore::Open(std::unique_ptr<Dialect> dialect, int timeout_ms) {
  std::unique_ptr<SqlStore> store(new SqlStore(std::move(dialect), timeout_ms));
  Result<bool> migrated = store->WithConnection<bool>([&](SqlConnection& c) {
    Migrate(*store->dialect_, c);
    return true;
  });
  if (!migrated) return migrated.failure();
  return store;
}

bool SqlStore::Ping() {
  return WithConnection<bool>([](SqlConnection& c) {
           c.Run("SELECT 1");
           return true;
         })
      .ok();
}

namespace {

Status ToStatus(const Result<bool>& done) {
  if (!done) return done.failure();
  return Status::Ok();
}

}  // namespace

Result<std::vector<int64_t>> SqlStore::CreateUsers(const std::vector<NewUser>& users, int64_t now) {
  using Ids = std::vector<int64_t>;
  return InTransaction<Ids>([&](SqlConnection& c, SqlTransaction& tx) -> Result<Ids> {
    Ids ids;
    ids.reserve(users.size());
    const size_t chunk = dialect_->bulk_insert_rows();
    for (size_t begin = 0; begin < users.size(); begin += chunk) {
      Status inserted =
          InsertUsers(c, users, begin, std::min(users.size(), begin + chunk), now, ids);
      if (!inserted) return inserted.failure();  // rolled back: no user is created
    }
    tx.Commit();
    return ids;
  });
}

Result<std::optional<UserRecord>> SqlStore::FindUserByName(const std::string& username) {
  return WithConnection<std::optional<UserRecord>>([&](SqlConnection& c) {
    return FirstUser(*c.Run(std::string(kUserColumns) + "WHERE username = $1", {username}));
  });
}

Result<std::optional<UserRecord>> SqlStore::FindUserById(int64_t id) {
  return WithConnection<std::optional<UserRecord>>([&](SqlConnection& c) {
    return FirstUser(*c.Run(std::string(kUserColumns) + "WHERE id = $1", {id}));
  });
}

Result<std::vector<UserRecord>> SqlStore::ListUsers() {
  return WithConnection<std::vector<UserRecord>>([&](SqlConnection& c) {
    Rows r = c.Run(std::string(kUserColumns) + "ORDER BY id");
    std::vector<UserRecord> users;
    for (int row = 0; row < r->Count(); ++row) users.push_back(ReadUser(*r, row));
    return users;
  });
}

Result<UserUpdate> SqlStore::SetStatus(const std::string& username, AccountStatus status,
                                       int64_t now) {
  return InTransaction<UserUpdate>([&](SqlConnection& c, SqlTransaction& tx) {
    Rows r = c.Run("UPDATE users SET status = $1, updated_at = $2 WHERE username = $3 RETURNING id",
                   {std::string(AccountStatusName(status)), now, username});
    if (r->Count() == 0) return UserUpdate::kNoSuchUser;
    AppendChange(*dialect_, c, ChangeKind::kUser, std::to_string(r->Int(0, 0)), now);
    tx.Commit();
    return UserUpdate::kUpdated;
  });
}

Result<UserUpdate> SqlStore::SetPasswordHash(const std::string& username, const std::string& hash,
                                       int64_t now) {
  return InTransaction<UserUpdate>([&](SqlConnection& c, SqlTransaction& tx) {
    return ReplaceCredential(*dialect_, c, tx, Credential::kPasswordHash, username, hash, now);
  });
}

Result<UserUpdate> SqlStore::SetTotpSecret(const std::string& username, const std::string& sealed,
                                     int64_t now) {
  return InTransaction<UserUpdate>([&](SqlConnection& c, SqlTransaction& tx) {
    return ReplaceCredential(*dialect_, c, tx, Credential::kTotpSecret, username, sealed, now);
  });
}

Status SqlStore::UpdatePasswordHash(int64_t user_id, const std::string& hash) {
  return ToStatus(WithConnection<bool>([&](SqlConnection& c) {
    c.Run("UPDATE users SET password_hash = $1 WHERE id = $2", {hash, user_id});
    return true;
  }));
}

Result<Admission> SqlStore::AdmitLoginAttempt(const std::string& username, int64_t now,
                                              const LockoutPolicy& policy) {
  return InTransaction<Admission>([&](SqlConnection& c, SqlTransaction& tx) {
    if (HeldByName(c, username)) return Admission::kHeld;  // nothing written
    LockedAttempts before = LockAttempts(c, username);
    AdmissionResult result = AdmitAttempt(before.state, now, policy);
    if (before.created || result.next != before.state) WriteAttempts(c, username, result.next);
    tx.Commit();
    return result.admission;
  });
}

Result<AttemptState> SqlStore::RecordLoginFailure(const std::string& username, int64_t now,
                                                  const LockoutPolicy& policy) {
  return InTransaction<AttemptState>([&](SqlConnection& c, SqlTransaction& tx) {
    AttemptState after = AfterFailure(LockAttempts(c, username).state, now, policy);
    WriteAttempts(c, username, after);
    tx.Commit();
    return after;
  });
}

Result<AttemptState> SqlStore::GetAttemptState(const std::string& username) {
  return WithConnection<AttemptState>([&](SqlConnection& c) {
    return ReadAttempts(*c.Run(
        "SELECT count, locked_until, last_failure_at FROM login_attempts WHERE username = $1",
        {username}));
  });
}

Status SqlStore::ClearAttempts(const std::string& username) {
  return ToStatus(InTransaction<bool>([&](SqlConnection& c, SqlTransaction& tx) {
    c.Run("UPDATE users SET login_otp_failures = 0, held_at = 0 WHERE username = $1", {username});
    WriteAttempts(c, username, AfterSuccess());
    tx.Commit();
    return true;
  }));
}

Result<LoginResult> SqlStore::FinishLogin(const LoginFinish& login, const OtpMatcher& match_otp) {
  return InTransaction<LoginResult>([&](SqlConnection& c, SqlTransaction& tx) {
    LoginResult result;
    const HoldState before = LockHoldState(c, login.user_id);
    const bool may_match = before.exists && !before.held;
    const std::optional<int64_t> step = may_match ? match_otp() : std::nullopt;
    if (step && !login.active) {
      ClearLoginCounts(c, login);
      result.verdict = LoginVerdict::kProvenInactive;
    } else if (step && ConsumeOtpStep(c, login, *step)) {
      ClearLoginCounts(c, login);
      result.refresh_id = CreateSession(c, login);
      result.verdict = LoginVerdict::kCompleted;
    } else {
      result.verdict = before.held ? LoginVerdict::kHeld
                       : step      ? LoginVerdict::kOtpStepUsed
                                   : LoginVerdict::kWrongOtp;
      CountLoginFailure(c, login, before, result);
    }
    tx.Commit();
    return result;
  });
}

Result<RotationResult> SqlStore::RotateRefreshToken(const RefreshKey& old,
                                                    const std::string& new_hash,
                                                    int64_t new_expires_at, int64_t now,
                                                    int64_t reuse_window_s) {
  return InTransaction<RotationResult>([&](SqlConnection& c, SqlTransaction& tx) {
    RotationResult result;
    Rows r = LockRefreshToken(c, old);
    if (r->Count() == 0 || !ConstantTimeEquals(r->Text(0, 1), old.hash)) return result;
    const int64_t old_id = r->Int(0, 0);
    result.session_id = r->Text(0, 2);
    result.user_id = r->Int(0, 5);
    result.status = StatusFromText(r->Text(0, 7));
    result.rotated_at = r->Int(0, 8);
    result.next_id = r->Int(0, 9);
    const RotationFacts facts{r->Int(0, 3), r->Bool(0, 4), result.rotated_at,
                              SuccessorIsCurrent(c, result.next_id, r->Text(0, 10)),
                              !r->IsNull(0, 6), result.status};
    const RotationVerdict verdict = DecideRotation(facts, now, reuse_window_s);
    if (verdict == RotationVerdict::kReuseDetected) {
      RevokeSessionLocked(*dialect_, c, result.session_id, now);
    } else if (verdict == RotationVerdict::kRotate) {
      result.next_id = InsertRefreshToken(c, new_hash, result.session_id, new_expires_at, now);
      c.Run("UPDATE refresh_tokens SET rotated = TRUE, rotated_at = $2, next_id = $3 "
            "WHERE id = $1",
            {old_id, now, result.next_id});
      c.Run("UPDATE sessions SET refreshed_at = $2, expires_at = $3 WHERE id = $1",
            {result.session_id, now, new_expires_at});
      result.rotated_at = now;
    }
    result.outcome = OutcomeOf(verdict);
    tx.Commit();
    return result;
  });
}

Result<std::optional<SessionRecord>> SqlStore::FindSession(const std::string& session_id) {
  using Found = std::optional<SessionRecord>;
  return WithConnection<Found>([&](SqlConnection& c) -> Found {
    Rows r = c.Run(
        "SELECT id, user_id, created_at, revoked_at, otp_failure_times FROM sessions "
        "WHERE id = $1",
        {session_id});
    if (r->Count() == 0) return std::nullopt;
    SessionRecord session;
    session.id = r->Text(0, 0);
    session.user_id = r->Int(0, 1);
    session.created_at = r->Int(0, 2);
    session.revoked = !r->IsNull(0, 3);
    session.otp_failure_times = ParseOtpFailureTimes(r->Text(0, 4));
    return session;
  });
}

Result<SessionEnd> SqlStore::RevokeSession(const std::string& session_id, int64_t now) {
  return InTransaction<SessionEnd>([&](SqlConnection& c, SqlTransaction& tx) {
    bool exists =
        c.Run("SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE", {session_id})->Count() > 0;
    if (exists) RevokeSessionLocked(*dialect_, c, session_id, now);
    tx.Commit();
    return exists ? SessionEnd::kEnded : SessionEnd::kNoSuchSession;
  });
}

Result<std::vector<SessionInfo>> SqlStore::ListSessions(int64_t user_id, int64_t now,
                                                        int64_t access_ttl_s, int64_t limit) {
  using Sessions = std::vector<SessionInfo>;
  return WithConnection<Sessions>([&](SqlConnection& c) {
    std::vector<SqlValue> parameters = LiveSessionParameters(user_id, now, access_ttl_s);
    parameters.emplace_back(limit);
    Rows r = c.Run(std::string("SELECT id, created_at, refreshed_at, expires_at, address, "
                               "user_agent FROM sessions WHERE ") +
                       kLiveSessionOfUser + " ORDER BY created_at DESC, id LIMIT $4",
                   parameters);
    Sessions sessions;
    sessions.reserve(static_cast<size_t>(r->Count()));
    for (int row = 0; row < r->Count(); ++row) {
      const SessionTimes times{r->Int(row, 1), r->Int(row, 2), r->Int(row, 3)};
      sessions.push_back(SessionInfo{r->Text(row, 0), times.created_at, times.refreshed_at,
                                     SessionLiveUntil(times, access_ttl_s), r->Text(row, 4),
                                     r->Text(row, 5)});
    }
    return sessions;
  });
}

Result<SessionEnd> SqlStore::EndSession(int64_t user_id, const std::string& session_id, int64_t now,
                                        int64_t access_ttl_s) {
  return InTransaction<SessionEnd>([&](SqlConnection& c, SqlTransaction& tx) {
    std::vector<SqlValue> parameters = LiveSessionParameters(user_id, now, access_ttl_s);
    parameters.emplace_back(session_id);
    const bool live = c.Run(std::string("SELECT 1 FROM sessions WHERE id = $4 AND ") +
                                kLiveSessionOfUser + " FOR UPDATE",
                            parameters)
                          ->Count() > 0;
    if (live) RevokeSessionLocked(*dialect_, c, session_id, now);
    tx.Commit();
    return live ? SessionEnd::kEnded : SessionEnd::kNoSuchSession;
  });
}

Result<int64_t> SqlStore::EndAllSessions(int64_t user_id, int64_t now, int64_t access_ttl_s) {
  return InTransaction<int64_t>([&](SqlConnection& c, SqlTransaction& tx) {
    std::vector<SqlValue> parameters = LiveSessionParameters(user_id, now, access_ttl_s);
    parameters.emplace_back(now);
    const int64_t ended =
        c.Run(std::string("UPDATE sessions SET revoked_at = $4 WHERE ") + kLiveSessionOfUser,
              parameters)
            ->Affected();
    if (ended > 0) AppendChange(*dialect_, c, ChangeKind::kUser, std::to_string(user_id), now);
    tx.Commit();
    return ended;
  });
}

Result<OtpFailureOutcome> SqlStore::RecordOtpFailure(const std::string& session_id,
                                                     const LockoutPolicy& policy, int64_t now) {
  return InTransaction<OtpFailureOutcome>([&](SqlConnection& c, SqlTransaction& tx) {
    Rows r = c.Run(
        "SELECT otp_failure_times FROM sessions WHERE id = $1 AND revoked_at IS NULL "
        "FOR UPDATE",
        {session_id});
    if (r->Count() == 0) return OtpFailureOutcome::kNotCounted;
    OtpFailureStep step = AddOtpFailure(ParseOtpFailureTimes(r->Text(0, 0)), now, policy);
    c.Run("UPDATE sessions SET otp_failure_times = $2 WHERE id = $1",
          {session_id, FormatOtpFailureTimes(step.times)});
    if (step.revoke)
      RevokeSessionLocked(*dialect_, c, session_id, now);
    else
      AppendChange(*dialect_, c, ChangeKind::kSession, session_id, now);
    tx.Commit();
    return step.revoke ? OtpFailureOutcome::kRevoked : OtpFailureOutcome::kCounted;
  });
}

Result<std::vector<SigningKeyRecord>> SqlStore::ListSigningKeys() {
  return WithConnection<std::vector<SigningKeyRecord>>([&](SqlConnection& c) {
    Rows r = c.Run(
        "SELECT kid, alg, secret, created_at, retired_at FROM signing_keys "
        "ORDER BY created_at, kid");
    std::vector<SigningKeyRecord> keys;
    for (int row = 0; row < r->Count(); ++row) {
      keys.push_back(
          {r->Text(row, 0), r->Text(row, 1), r->Bytes(row, 2), r->Int(row, 3), r->Int(row, 4)});
    }
    return keys;
  });
}

Status SqlStore::AddSigningKey(const SigningKeyRecord& key, int64_t now) {
  return ToStatus(InTransaction<bool>([&](SqlConnection& c, SqlTransaction& tx) {
    c.Run("UPDATE signing_keys SET retired_at = $1 WHERE retired_at = 0", {now});
    c.Run("INSERT INTO signing_keys(kid, alg, secret, created_at) VALUES($1, $2, $3, $4)",
          {key.kid, key.alg, SqlValue::Bytes(key.secret_sealed), now});
    AppendChange(*dialect_, c, ChangeKind::kKeys, "", now);
    tx.Commit();
    return true;
  }));
}

Result<int64_t> SqlStore::LatestChangeSeq() {
  return WithConnection<int64_t>([&](SqlConnection& c) {
    return c.Run("SELECT COALESCE(MAX(seq), 0) FROM changes")->Int(0, 0);
  });
}

Result<std::vector<Change>> SqlStore::ChangesSince(int64_t seq) {
  return WithConnection<std::vector<Change>>([&](SqlConnection& c) {
    Rows r =
        c.Run("SELECT seq, kind, ref FROM changes WHERE seq > $1 ORDER BY seq LIMIT 10000", {seq});
    std::vector<Change> changes;
    for (int row = 0; row < r->Count(); ++row) {
      changes.push_back(Change{r->Int(row, 0), ParseChangeKind(r->Text(row, 1)), r->Text(row, 2)});
    }
    return changes;
  });
}

Result<std::optional<std::string>> SqlStore::GetSetting(const std::string& name) {
  return WithConnection<std::optional<std::string>>(
      [&](SqlConnection& c) { return ReadSetting(c, name); });
}

Result<std::string> SqlStore::PutSettingIfAbsent(const std::string& name,
                                                 const std::string& value) {
  return InTransaction<std::string>([&](SqlConnection& c, SqlTransaction& tx) {
    c.Run("INSERT INTO settings(name, value) VALUES($1, $2) ON CONFLICT (name) DO NOTHING",
          {name, SqlValue::Bytes(value)});
    std::string stored = ReadSetting(c, name).value();
    tx.Commit();
    return stored;
  });
}

Status SqlStore::Prune(int64_t now, int64_t access_ttl_s, const LockoutPolicy& lockout) {
  const PruneHorizons h = PruneHorizonsAt(now, access_ttl_s, lockout);
  return ToStatus(InTransaction<bool>([&](SqlConnection& c, SqlTransaction& tx) {
    // Sessions first: those whose current token is about to go (found through the tokens'
    // expiry index; a session's own expires_at and last issue are its current token's).
    c.Run(
        "DELETE FROM sessions WHERE id IN (SELECT session_id FROM refresh_tokens "
        "WHERE expires_at <= $1 AND created_at <= $2) AND expires_at <= $1 AND "
        "created_at <= $2 AND refreshed_at <= $2",
        {h.token_expired_by, h.token_created_by});
    c.Run("DELETE FROM refresh_tokens WHERE expires_at <= $1 AND created_at <= $2",
          {h.token_expired_by, h.token_created_by});
    c.Run("DELETE FROM used_otp_steps WHERE used_at < $1", {h.otp_step_used_before});
    c.Run("DELETE FROM changes WHERE at < $1", {h.change_before});
    c.Run(
        "DELETE FROM login_attempts WHERE (locked_until != 0 AND locked_until <= $1) OR "
        "(locked_until = 0 AND last_failure_at <= $2)",
        {h.lock_ended_by, h.last_failure_by});
    tx.Commit();
    return true;
  }));
}

Status SqlStore::Heartbeat(const std::string& instance_id, int64_t now) {
  return ToStatus(InTransaction<bool>([&](SqlConnection& c, SqlTransaction& tx) {
    c.Run(
        "INSERT INTO heartbeats(instance_id, at) VALUES($1, $2) "
        "ON CONFLICT (instance_id) DO UPDATE SET at = excluded.at",
        {instance_id, now});
    c.Run("DELETE FROM heartbeats WHERE at < $1", {now - kHeartbeatRetentionS});
    tx.Commit();
    return true;
  }));
}

}  // namespace authgate
