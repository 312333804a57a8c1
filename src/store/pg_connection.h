// PostgresConnection: one libpq connection whose every call is bounded by a deadline (SPEC
// §10.1): connecting, sending, and waiting for a result all poll the socket against the
// deadline of the current operation. A network that goes silent therefore costs a caller at
// most `storage.timeout_ms`, never a TCP retransmission timeout (minutes).
//
// On a missed deadline the connection is marked broken (the pool drops it), the server is asked
// to cancel the statement from a background thread (a cancel must connect, and the network may
// be the thing that is silent), and the call throws PgError. The server bounds its side too:
// statement_timeout, TCP keepalives and tcp_user_timeout are set from the same timeout.
//
// Used by one thread at a time (the store's pool leases it out).
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "store/sql_connection.h"

namespace authgate {

// Thrown inside the PostgreSQL store only; every public operation converts it into an Error.
// A statement's error is PostgreSQL's primary message with its SQLSTATE, which is also the cause
// ("SQLSTATE 53100"); never its DETAIL, which quotes key values and rows. A connection's own
// failure has the cause "connect failed", "connection lost" or "timeout".
struct PgError : SqlError {
  using SqlError::SqlError;
};

// One query parameter: text, or bytes sent in binary format (bytea).
struct Param {
  std::string value;
  bool binary = false;
  Param(std::string text) : value(std::move(text)) {}       // NOLINT: implicit by design
  Param(const char* text) : value(text) {}                  // NOLINT: implicit by design
  Param(int64_t number) : value(std::to_string(number)) {}  // NOLINT: implicit by design
  static Param Bytes(std::string bytes) {
    Param param(std::move(bytes));
    param.binary = true;
    return param;
  }
};

class PgResult {
 public:
  explicit PgResult(PGresult* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
  PgResult(const PgResult&) = delete;
  ~PgResult() { PQclear(result_); }

  int Rows() const { return PQntuples(result_); }
  bool IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  std::string Text(int row, int column) const {
    return std::string(PQgetvalue(result_, row, column), PQgetlength(result_, row, column));
  }
  int64_t Int(int row, int column) const { return std::stoll(Text(row, column)); }
  bool Bool(int row, int column) const { return Text(row, column) == "t"; }
  std::string Bytes(int row, int column) const;
  int64_t Affected() const;

 private:
  PGresult* result_;
};

class PostgresConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects to `url` before `deadline`; throws PgError. `timeout_ms` also sets the session's
  // statement_timeout and the socket's keepalives and tcp_user_timeout.
  static std::unique_ptr<PostgresConnection> Connect(const std::string& url, int timeout_ms,
                                                     Clock::time_point deadline);
  ~PostgresConnection();
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  // The deadline of the operation that leases the connection now.
  void set_deadline(Clock::time_point deadline) { deadline_ = deadline; }
  bool healthy() const { return !broken_ && PQstatus(connection_) == CONNECTION_OK; }

  // One statement with parameters; throws PgError for anything but a command or row set.
  PgResult Run(const char* sql, const std::vector<Param>& params = {});
  // Several statements without parameters (a migration); throws PgError on the first error.
  void RunScript(const char* sql);

 private:
  PostgresConnection(PGconn* connection, Clock::time_point deadline);
  // Waits until the socket is ready for `events` (POLLIN/POLLOUT) or the deadline passes.
  void Wait(short events);
  void Flush();
  // Reads every result of the statement sent; the last one, or the first error (thrown).
  PgResult Collect();
  [[noreturn]] void TimedOut();
  // Marks the connection broken and throws PgError(kUnavailable).
  [[noreturn]] void Broken(const std::string& message);
  [[noreturn]] void SendFailed();
  std::string ErrorMessage() const;

  PGconn* connection_;
  Clock::time_point deadline_;
  bool broken_ = false;
};

}  // namespace authgate
