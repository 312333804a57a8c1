#include "store/pg_connection.h"

#include <poll.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <optional>
#include <string_view>
#include <thread>

namespace authgate {
namespace {

// libpq's messages end in a newline and may span lines ("... failed: Connection refused\n\tIs
// the server running ..."): one line, for stderr and a log.
std::string OneLine(std::string_view message) {
  std::string line;
  for (char c : message) {
    if (c != ' ' && c != '\n' && c != '\t' && c != '\r') {
      line.push_back(c);
    } else if (!line.empty() && line.back() != ' ') {
      line.push_back(' ');
    }
  }
  if (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

// Cancels run on threads of their own, at most this many at once (beyond it the statement is
// left to the server's statement_timeout).
constexpr int kMaxCancelsInFlight = 4;
std::atomic<int> cancels_in_flight{0};

void CancelInBackground(PGconn* connection) {
  if (cancels_in_flight.fetch_add(1) >= kMaxCancelsInFlight) {
    cancels_in_flight.fetch_sub(1);
    return;
  }
  PGcancel* cancel = PQgetCancel(connection);
  if (cancel == nullptr) {
    cancels_in_flight.fetch_sub(1);
    return;
  }
  std::thread([cancel] {
    char error[256];
    PQcancel(cancel, error, sizeof(error));
    PQfreeCancel(cancel);
    cancels_in_flight.fetch_sub(1);
  }).detach();
}

constexpr ErrorCode kDown = ErrorCode::kUnavailable;

// Causes (Error::cause) of failures that PostgreSQL itself did not name with a SQLSTATE.
constexpr const char* kConnectFailed = "connect failed";
constexpr const char* kConnectionLost = "connection lost";
constexpr const char* kTimedOut = "timeout";

// What a statement's SQLSTATE says about the store: a server that is going away, out of
// resources, cancelled the statement (statement_timeout) or lost a serialization race is
// unavailable for now; a unique key taken is kAlreadyExists; anything else is a bug.
ErrorCode CodeOf(const char* sqlstate) {
  const std::string state = sqlstate;
  if (state == "23505") return ErrorCode::kAlreadyExists;
  const std::string cls = state.substr(0, 2);
  if (cls == "08" || cls == "53" || cls == "57" || cls == "40" || cls == "58") return kDown;
  return ErrorCode::kInternal;
}

// A statement's error in one line: PostgreSQL's primary message and its SQLSTATE, e.g.
// 'duplicate key value violates unique constraint "users_pkey" (SQLSTATE 23505)'. The DETAIL is
// left out: it may echo a row ("Key (username)=(alice) already exists", "Failing row contains
// (...)" with a password hash and a sealed secret), and no log needs it to name the cause.
PgError StatementError(const PGresult* result) {
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string message = OneLine(primary ? primary : PQresultErrorMessage(result));
  if (message.empty()) message = "query failed";
  const char* sqlstate = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  if (sqlstate == nullptr) return PgError(message);
  const std::string cause = std::string("SQLSTATE ") + sqlstate;
  return PgError(message + " (" + cause + ")", CodeOf(sqlstate), cause);
}

}  // namespace

std::string PgResult::Bytes(int row, int column) const {
  size_t length = 0;
  unsigned char* bytes = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_, row, column)), &length);
  if (bytes == nullptr) throw PgError("cannot decode bytea");
  std::string out(reinterpret_cast<const char*>(bytes), length);
  PQfreemem(bytes);
  return out;
}

int64_t PgResult::Affected() const {
  const char* tuples = PQcmdTuples(result_);
  return (tuples && *tuples) ? std::stoll(tuples) : 0;
}

PostgresConnection::PostgresConnection(PGconn* connection, Clock::time_point deadline)
    : connection_(connection), deadline_(deadline) {}

PostgresConnection::~PostgresConnection() { PQfinish(connection_); }

std::unique_ptr<PostgresConnection> PostgresConnection::Connect(const std::string& url,
                                                                int timeout_ms,
                                                                Clock::time_point deadline) {
  const std::string user_timeout = std::to_string(timeout_ms);
  const std::string keepalive_s = std::to_string(std::max(1, timeout_ms / 1000));
  // Later keywords override what the URL (expanded from "dbname") says.
  const char* keys[] = {"dbname",          "keepalives",       "keepalives_idle",
                        "keepalives_interval", "keepalives_count", "tcp_user_timeout",
                        nullptr};
  const char* values[] = {url.c_str(),         "1", keepalive_s.c_str(),
                          keepalive_s.c_str(), "3", user_timeout.c_str(),
                          nullptr};
  PGconn* raw = PQconnectStartParams(keys, values, /*expand_dbname=*/1);
  if (raw == nullptr) {
    throw PgError("cannot connect to PostgreSQL: out of memory", kDown, kConnectFailed);
  }
  std::unique_ptr<PostgresConnection> connection(new PostgresConnection(raw, deadline));
  PostgresPollingStatusType status =
      PQstatus(raw) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
  while (status != PGRES_POLLING_OK) {
    if (status == PGRES_POLLING_FAILED) {
      throw PgError("cannot connect to PostgreSQL: " + connection->ErrorMessage(), kDown,
                    kConnectFailed);
    }
    connection->Wait(status == PGRES_POLLING_READING ? POLLIN : POLLOUT);
    status = PQconnectPoll(raw);
  }
  if (PQsetnonblocking(raw, 1) != 0) {
    throw PgError("cannot make the connection non-blocking", kDown, kConnectFailed);
  }
  connection->Run("SET client_min_messages = warning");
  connection->Run(("SET statement_timeout = " + user_timeout).c_str());
  return connection;
}

std::string PostgresConnection::ErrorMessage() const {
  std::string message = OneLine(PQerrorMessage(connection_));
  return message.empty() ? "unknown error" : message;
}

void PostgresConnection::Broken(const std::string& message) {
  broken_ = true;
  throw PgError(message, kDown, kConnectionLost);
}

void PostgresConnection::SendFailed() {
  if (PQstatus(connection_) != CONNECTION_OK) Broken(ErrorMessage());
  throw PgError(ErrorMessage());
}

void PostgresConnection::TimedOut() {
  broken_ = true;
  CancelInBackground(connection_);
  throw PgError("PostgreSQL did not answer within storage.timeout_ms", kDown, kTimedOut);
}

void PostgresConnection::Wait(short events) {
  const int fd = PQsocket(connection_);
  if (fd < 0) {
    Broken("PostgreSQL connection lost");
  }
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) TimedOut();
    pollfd ready{fd, events, 0};
    const int n = ::poll(&ready, 1, static_cast<int>(std::min<int64_t>(left.count(), 60000)));
    if (n > 0) return;
    if (n < 0 && errno != EINTR) {
      Broken("poll on the PostgreSQL socket failed");
    }
  }
}

void PostgresConnection::Flush() {
  for (;;) {
    const int flushed = PQflush(connection_);
    if (flushed == 0) return;
    if (flushed < 0) Broken(ErrorMessage());
    Wait(POLLIN | POLLOUT);
    if (!PQconsumeInput(connection_)) Broken(ErrorMessage());
  }
}

PgResult PostgresConnection::Collect() {
  Flush();
  PGresult* kept = nullptr;
  std::optional<PgError> failed;  // the first statement that failed
  for (;;) {
    while (PQisBusy(connection_)) {
      Wait(POLLIN);
      if (!PQconsumeInput(connection_)) {
        PQclear(kept);
        Broken(ErrorMessage());
      }
    }
    PGresult* result = PQgetResult(connection_);
    if (result == nullptr) break;
    const ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK && !failed) {
      failed = StatementError(result);
    }
    PQclear(kept);
    kept = result;
  }
  if (failed || kept == nullptr) {
    PQclear(kept);
    if (!failed) Broken(ErrorMessage());
    if (!healthy()) failed->code = kDown;
    throw *failed;
  }
  return PgResult(kept);
}

PgResult PostgresConnection::Run(const char* sql, const std::vector<Param>& params) {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const Param& param : params) {
    values.push_back(param.value.data());
    lengths.push_back(static_cast<int>(param.value.size()));
    formats.push_back(param.binary ? 1 : 0);
  }
  if (!PQsendQueryParams(connection_, sql, static_cast<int>(params.size()), nullptr,
                         values.data(), lengths.data(), formats.data(), 0)) {
    SendFailed();
  }
  return Collect();
}

void PostgresConnection::RunScript(const char* sql) {
  if (!PQsendQuery(connection_, sql)) SendFailed();
  Collect();
}

}  // namespace authgate
