// Dialect: what differs between the SQL engines SqlStore runs on, and nothing else. SqlStore
// holds every statement and every decision once; a dialect says how to open a connection, how
// the schema's types are spelled, how a write transaction begins, which locks the engine needs,
// and how the store keeps its schema version. Implementations: sqlite_dialect.h (the embedded
// default), postgres_dialect.h (shared by many instances). Immutable after construction: any
// thread.
//
// The portable statement form, which every connection accepts:
// - parameters are numbered, PostgreSQL style: $1, $2, ... (a number may appear twice);
// - a SELECT that must lock the rows it reads ends with "FOR UPDATE" (optionally "OF t, s"):
//   PostgreSQL locks those rows; SQLite drops the clause, its write transaction having locked
//   the whole database already (begin_write);
// - upsert and insert-ignore are "INSERT ... ON CONFLICT (...) DO UPDATE / DO NOTHING", and new
//   keys come back with "RETURNING": both engines speak these as they are (SQLite since 3.35);
// - booleans are written TRUE / FALSE and read with SqlRows::Bool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "store/sql_connection.h"

namespace authgate {

// How the schema's column types and table options are spelled (sql_schema.cc).
struct SchemaWords {
  const char* serial_key;  // an auto-incremented 64-bit primary key
  const char* int64;       // a 64-bit integer
  const char* bytes;       // a byte string
  const char* boolean;
  const char* false_value;
  const char* without_rowid;  // appended to tables keyed by their own primary key
  const char* add_column;     // ALTER TABLE's add, idempotent where the engine allows
};

class Dialect {
 public:
  virtual ~Dialect() = default;

  // "SQLite" or "PostgreSQL", for messages.
  virtual const char* name() const = 0;
  // Opens one connection; fails (throws) by `deadline`. `timeout_ms` is storage.timeout_ms,
  // which the engine may also apply on its side (PostgreSQL's statement_timeout).
  virtual std::unique_ptr<SqlConnection> Connect(
      int timeout_ms, SqlConnection::Clock::time_point deadline) const = 0;

  virtual const SchemaWords& schema_words() const = 0;
  // Begins a transaction that will write, taking whatever lock the engine needs up front so that
  // concurrent writers wait for each other instead of failing.
  virtual const char* begin_write() const = 0;
  // True where a write transaction locks the whole database (writers run one at a time anyway):
  // SqlStore then commits concurrent writers together (group_commit.h).
  virtual bool groups_commits() const = 0;
  // How many rows one multi-row INSERT carries (a round trip costs more on some engines).
  virtual size_t bulk_insert_rows() const = 0;

  // Held to the end of the current transaction: appends to the change log commit in sequence
  // order, so a poller never skips an entry. A no-op where writers are serialized anyway.
  virtual void LockChangeLog(SqlConnection& connection) const = 0;

  // Migration support, all inside the migration's write transaction. PrepareMigration runs
  // before that transaction (database-wide settings such as SQLite's journal mode).
  virtual void PrepareMigration(SqlConnection& connection) const = 0;
  // Held to the end of the transaction, so that processes starting together migrate once.
  virtual void LockMigration(SqlConnection& connection) const = 0;
  virtual int64_t SchemaVersion(SqlConnection& connection) const = 0;
  virtual void SetSchemaVersion(SqlConnection& connection, int64_t version) const = 0;
};

}  // namespace authgate
