// ConnectionPool: at most kMaxConnections open connections of one dialect, leased to one
// operation at a time. Acquire starts the operation's deadline (storage.timeout_ms from now):
// it bounds the wait for a free connection, the connect, and every statement after it. A
// connection an error has broken is dropped with its idle siblings (when the server went away
// they are almost certainly broken too), so the next operations reconnect instead of failing:
// the store recovers by itself when the server comes back. Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "store/dialect.h"

namespace authgate {

class ConnectionPool {
 public:
  static constexpr int kMaxConnections = 8;

  // Returns the connection to the pool (or drops it when broken) when it goes out of scope.
  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<SqlConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    ~Lease();
    SqlConnection& operator*() { return *connection_; }

   private:
    ConnectionPool& pool_;
    std::unique_ptr<SqlConnection> connection_;
  };

  ConnectionPool(const Dialect& dialect, int timeout_ms)
      : dialect_(dialect), timeout_ms_(timeout_ms) {}

  // Throws SqlError when no connection is free by the deadline, or the dialect's error when a
  // new connection cannot be made.
  Lease Acquire();

 private:
  void Release(std::unique_ptr<SqlConnection> connection);

  const Dialect& dialect_;
  const int timeout_ms_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqlConnection>> idle_;
  int open_connections_ = 0;
};

}  // namespace authgate
