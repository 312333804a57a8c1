#include "store/connection_pool.h"

#include <string>

namespace authgate {

ConnectionPool::Lease::~Lease() {
  if (connection_) pool_.Release(std::move(connection_));
}

void ConnectionPool::Release(std::unique_ptr<SqlConnection> connection) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (connection->healthy()) {
      idle_.push_back(std::move(connection));
    } else {
      connection.reset();
      open_connections_ -= 1 + static_cast<int>(idle_.size());
      idle_.clear();
    }
  }
  available_.notify_one();
}

ConnectionPool::Lease ConnectionPool::Acquire() {
  const auto deadline = SqlConnection::Clock::now() + std::chrono::milliseconds(timeout_ms_);
  std::unique_lock<std::mutex> lock(mutex_);
  while (idle_.empty() && open_connections_ >= kMaxConnections) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout) {
      throw SqlError(
          std::string("no ") + dialect_.name() + " connection free within storage.timeout_ms",
          ErrorCode::kUnavailable, "no free connection");
    }
  }
  if (!idle_.empty()) {
    std::unique_ptr<SqlConnection> connection = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    connection->set_deadline(deadline);
    return Lease(*this, std::move(connection));
  }
  ++open_connections_;
  lock.unlock();
  try {
    std::unique_ptr<SqlConnection> connection = dialect_.Connect(timeout_ms_, deadline);
    connection->set_deadline(deadline);
    return Lease(*this, std::move(connection));
  } catch (...) {
    {
      std::lock_guard<std::mutex> relock(mutex_);
      --open_connections_;
    }
    available_.notify_one();
    throw;
  }
}

}  // namespace authgate
