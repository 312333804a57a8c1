#include "store/sql_schema.h"

#include <string_view>

#include "store/sql_transaction.h"

namespace authgate {
namespace {

constexpr const char* kSchemaV1 = R"sql(
CREATE TABLE IF NOT EXISTS users(
  id {serial_key},
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  totp_secret {bytes} NOT NULL,
  status TEXT NOT NULL,
  created_at {int64} NOT NULL,
  updated_at {int64} NOT NULL);
CREATE TABLE IF NOT EXISTS login_attempts(
  username TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  locked_until {int64} NOT NULL){without_rowid};
CREATE TABLE IF NOT EXISTS used_otp_steps(
  user_id {int64} NOT NULL,
  step {int64} NOT NULL,
  used_at {int64} NOT NULL,
  PRIMARY KEY(user_id, step)){without_rowid};
CREATE TABLE IF NOT EXISTS sessions(
  id TEXT PRIMARY KEY,
  user_id {int64} NOT NULL,
  created_at {int64} NOT NULL,
  revoked_at {int64},
  otp_failures INTEGER NOT NULL DEFAULT 0){without_rowid};
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS refresh_tokens(
  hash TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  expires_at {int64} NOT NULL,
  rotated {boolean} NOT NULL DEFAULT {false},
  created_at {int64} NOT NULL){without_rowid};
CREATE INDEX IF NOT EXISTS refresh_tokens_session ON refresh_tokens(session_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_expiry ON refresh_tokens(expires_at);
CREATE TABLE IF NOT EXISTS signing_keys(
  kid TEXT PRIMARY KEY,
  alg TEXT NOT NULL,
  secret {bytes} NOT NULL,
  created_at {int64} NOT NULL,
  retired_at {int64} NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS changes(
  seq {serial_key},
  kind TEXT NOT NULL,
  ref TEXT NOT NULL,
  at {int64} NOT NULL);
CREATE INDEX IF NOT EXISTS changes_at ON changes(at);
)sql";

// `otp_failures` (a streak) is no longer read.
constexpr const char* kSchemaV2 = R"sql(
ALTER TABLE login_attempts {add_column} last_failure_at {int64} NOT NULL DEFAULT 0;
ALTER TABLE sessions {add_column} otp_failure_times TEXT NOT NULL DEFAULT '';
)sql";

// The master key's check value.
constexpr const char* kSchemaV3 = R"sql(
CREATE TABLE IF NOT EXISTS settings(
  name TEXT PRIMARY KEY,
  value {bytes} NOT NULL){without_rowid};
)sql";

// SPEC §10.3: wrong login otps after a right password since the last successful login, and
// when the account was held (0: not held).
constexpr const char* kSchemaV4 = R"sql(
ALTER TABLE users {add_column} login_otp_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users {add_column} held_at {int64} NOT NULL DEFAULT 0;
)sql";

// SPEC §10.2: when a refresh token was rotated, and the hash of the token it was rotated to.
constexpr const char* kSchemaV5 = R"sql(
ALTER TABLE refresh_tokens {add_column} rotated_at {int64} NOT NULL DEFAULT 0;
ALTER TABLE refresh_tokens {add_column} next_hash TEXT NOT NULL DEFAULT '';
)sql";

// Issue 16.2: one row per instance, which its write probe commits every second (Store::Heartbeat).
constexpr const char* kSchemaV6 = R"sql(
CREATE TABLE IF NOT EXISTS heartbeats(
  instance_id TEXT PRIMARY KEY,
  at {int64} NOT NULL){without_rowid};
)sql";

// SPEC §10.4: what a session shows its owner. expires_at is its current refresh token's expiry
// (set at login and at every rotation), so that listing a user's live sessions reads only the
// sessions table.
constexpr const char* kSchemaV7 = R"sql(
ALTER TABLE sessions {add_column} expires_at {int64} NOT NULL DEFAULT 0;
ALTER TABLE sessions {add_column} refreshed_at {int64} NOT NULL DEFAULT 0;
ALTER TABLE sessions {add_column} address TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions {add_column} user_agent TEXT NOT NULL DEFAULT '';
UPDATE sessions SET
  expires_at = COALESCE((SELECT MAX(t.expires_at) FROM refresh_tokens t
                         WHERE t.session_id = sessions.id AND t.rotated = {false}), 0),
  refreshed_at = COALESCE((SELECT MAX(t.rotated_at) FROM refresh_tokens t
                           WHERE t.session_id = sessions.id), 0);
)sql";

// Refresh tokens keyed by an increasing id, the hash a unique index (issue 14.3). Keyed by
// their random hash, every rotation wrote pages all over the table and its two indexes: the
// new row's, the (session_id, hash) index's and the (expires_at, hash) index's, a WAL frame
// each per commit. Now the new row and its expiry entry (expires_at, id) are appended, so a
// group's rotations share those pages; the session index is gone (pruning reads the sessions'
// own expiry, kept since version 7).
constexpr const char* kSchemaV8 = R"sql(
CREATE TABLE refresh_tokens_v8(
  id {serial_key},
  hash TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  expires_at {int64} NOT NULL,
  rotated {boolean} NOT NULL DEFAULT {false},
  created_at {int64} NOT NULL,
  rotated_at {int64} NOT NULL DEFAULT 0,
  next_hash TEXT NOT NULL DEFAULT '');
INSERT INTO refresh_tokens_v8(hash, session_id, expires_at, rotated, created_at, rotated_at,
                              next_hash)
  SELECT hash, session_id, expires_at, rotated, created_at, rotated_at, next_hash
  FROM refresh_tokens ORDER BY created_at, hash;
DROP TABLE refresh_tokens;
ALTER TABLE refresh_tokens_v8 RENAME TO refresh_tokens;
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);
)sql";

// Refresh tokens found by their id (core/refresh_token.h; issue 14.3): a rotation appends its
// row and its expiry entry and writes no random index page — the unique index on the hash
// was the one page every rotation wrote at random. The tokens issued before carry no id: they
// are kept, marked `legacy`, and found by their hash through a partial index that new rows
// never enter. `next_id` names a rotation's successor; `next_hash`, a successor named before.
constexpr const char* kSchemaV9 = R"sql(
CREATE TABLE refresh_tokens_v9(
  id {serial_key},
  hash TEXT NOT NULL,
  legacy {boolean} NOT NULL DEFAULT {false},
  session_id TEXT NOT NULL,
  expires_at {int64} NOT NULL,
  rotated {boolean} NOT NULL DEFAULT {false},
  created_at {int64} NOT NULL,
  rotated_at {int64} NOT NULL DEFAULT 0,
  next_id {int64} NOT NULL DEFAULT 0,
  next_hash TEXT NOT NULL DEFAULT '');
INSERT INTO refresh_tokens_v9(hash, legacy, session_id, expires_at, rotated, created_at,
                              rotated_at, next_hash)
  SELECT hash, NOT {false}, session_id, expires_at, rotated, created_at, rotated_at, next_hash
  FROM refresh_tokens ORDER BY id;
DROP TABLE refresh_tokens;
ALTER TABLE refresh_tokens_v9 RENAME TO refresh_tokens;
CREATE INDEX refresh_tokens_expiry ON refresh_tokens(expires_at);
CREATE INDEX refresh_tokens_legacy ON refresh_tokens(hash) WHERE legacy;
)sql";

std::string_view Word(const SchemaWords& words, std::string_view name) {
  if (name == "serial_key") return words.serial_key;
  if (name == "int64") return words.int64;
  if (name == "bytes") return words.bytes;
  if (name == "boolean") return words.boolean;
  if (name == "false") return words.false_value;
  if (name == "without_rowid") return words.without_rowid;
  if (name == "add_column") return words.add_column;
  throw SqlError("schema template names an unknown word: " + std::string(name));
}

// Replaces every {word} of `script` with the dialect's spelling.
std::string Spell(std::string_view script, const SchemaWords& words) {
  std::string out;
  out.reserve(script.size() + 256);
  for (size_t i = 0; i < script.size();) {
    const size_t open = script.find('{', i);
    if (open == std::string_view::npos) {
      out.append(script.substr(i));
      break;
    }
    const size_t close = script.find('}', open);
    out.append(script.substr(i, open - i));
    out.append(Word(words, script.substr(open + 1, close - open - 1)));
    i = close + 1;
  }
  return out;
}

}  // namespace

std::string MigrationScript(const Dialect& dialect, int64_t version) {
  static constexpr const char* kScripts[] = {kSchemaV1, kSchemaV2, kSchemaV3,
                                             kSchemaV4, kSchemaV5, kSchemaV6,
                                             kSchemaV7, kSchemaV8, kSchemaV9};
  static_assert(std::size(kScripts) == kSchemaVersion);
  return Spell(kScripts[version - 1], dialect.schema_words());
}

void Migrate(const Dialect& dialect, SqlConnection& connection) {
  dialect.PrepareMigration(connection);
  SqlTransaction transaction(dialect, connection);
  dialect.LockMigration(connection);
  const int64_t current = dialect.SchemaVersion(connection);
  if (current > kSchemaVersion) {
    throw SqlError("database schema version " + std::to_string(current) +
                   " is newer than this authgate (" + std::to_string(kSchemaVersion) + ")");
  }
  for (int64_t version = current + 1; version <= kSchemaVersion; ++version) {
    connection.RunScript(MigrationScript(dialect, version));
  }
  if (current < kSchemaVersion) dialect.SetSchemaVersion(connection, kSchemaVersion);
  transaction.Commit();
}

}  // namespace authgate
