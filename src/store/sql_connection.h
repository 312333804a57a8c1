// SqlConnection: one open connection to a SQL engine, as SqlStore sees it. Statements are
// written once, in the portable form that dialect.h describes; each engine's connection turns
// them into its own. Results come back as SqlRows, read by row and column.
//
// Failures throw SqlError (or the engine's own std::exception) inside the store only; SqlStore
// turns them into Error values at each operation's boundary (store_support.h). Used by one thread
// at a time: the pool (connection_pool.h) leases a connection to one operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/result.h"

namespace authgate {

// `code` says what kind of failure it was: kUnavailable for a store that did not answer (a
// timeout, a lost connection, a busy or full database), kAlreadyExists for a unique key taken.
// `cause` is the engine's own name for it (Error::cause): SQLite's extended result code name,
// PostgreSQL's SQLSTATE, or a fixed name for a failure of the connection itself.
struct SqlError : std::runtime_error {
  explicit SqlError(const std::string& message, ErrorCode error_code = ErrorCode::kInternal,
                    std::string error_cause = "")
      : std::runtime_error(message), code(error_code), cause(std::move(error_cause)) {}
  ErrorCode code;
  std::string cause;
};

// One statement parameter: a number, text, or bytes (BLOB / BYTEA).
struct SqlValue {
  enum class Kind { kInt, kText, kBytes };
  Kind kind = Kind::kText;
  int64_t number = 0;
  std::string text;

  SqlValue(int64_t value) : kind(Kind::kInt), number(value) {}  // NOLINT: implicit by design
  SqlValue(int value) : kind(Kind::kInt), number(value) {}      // NOLINT: implicit by design
  SqlValue(std::string value) : text(std::move(value)) {}       // NOLINT: implicit by design
  SqlValue(const char* value) : text(value) {}                  // NOLINT: implicit by design
  static SqlValue Bytes(std::string bytes) {
    SqlValue value(std::move(bytes));
    value.kind = Kind::kBytes;
    return value;
  }
};

// The rows of one statement (none for most writes), and how many rows it changed.
class SqlRows {
 public:
  virtual ~SqlRows() = default;
  virtual int Count() const = 0;
  virtual bool IsNull(int row, int column) const = 0;
  virtual int64_t Int(int row, int column) const = 0;
  virtual bool Bool(int row, int column) const = 0;
  virtual std::string Text(int row, int column) const = 0;
  virtual std::string Bytes(int row, int column) const = 0;
  // Rows inserted, updated or deleted by a write statement.
  virtual int64_t Affected() const = 0;
};

class SqlConnection {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~SqlConnection() = default;

  // The deadline of the operation that leases the connection now: every call it makes ends by
  // then (PostgreSQL: socket waits; SQLite: the busy timeout of its lock waits).
  virtual void set_deadline(Clock::time_point deadline) = 0;
  // False once an error has broken the connection (the network, the server went away): the pool
  // then drops it. An error of the statement alone (a constraint, a busy database) leaves it
  // healthy.
  virtual bool healthy() const = 0;

  // One statement in the portable form, with its parameters ($1 is the first).
  virtual std::unique_ptr<SqlRows> Run(const std::string& sql,
                                       const std::vector<SqlValue>& params = {}) = 0;
  // Several statements without parameters, already in this engine's form (a migration).
  virtual void RunScript(const std::string& sql) = 0;
};

}  // namespace authgate
