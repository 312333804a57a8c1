#include "store/group_commit.h"

#include <algorithm>

#include "store/sql_transaction.h"
#include "store/store_support.h"

namespace authgate {
namespace {

// `body` with its exception as an Error value.
template <typename Body>
std::optional<Error> Guarded(Body&& body) {
  Status status = GuardStoreStatus(std::forward<Body>(body));
  if (status) return std::nullopt;
  return status.failure();
}

}  // namespace

GroupCommit::GroupCommit(ConnectionPool& pool, const Dialect& dialect, int timeout_ms)
    : pool_(pool), dialect_(dialect), timeout_(timeout_ms), committer_([this] { Commit(); }) {}

GroupCommit::~GroupCommit() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_.notify_one();
  committer_.join();
}

std::optional<Error> GroupCommit::Run(const Operation& operation) {
  Waiter self{&operation, std::chrono::steady_clock::now(), std::nullopt, false, {}};
  std::unique_lock<std::mutex> lock(mutex_);
  queue_.push_back(&self);
  if (running_ == 0 && queue_.size() == 1) work_.notify_one();  // the committer may be idle
  while (!self.done) self.wake.wait(lock);
  return self.error;
}

void GroupCommit::Commit() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and no caller left
    const size_t size = std::min(queue_.size(), kMaxGroup);
    std::deque<Waiter*> group(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(size));
    running_ = size;
    lock.unlock();
    Lead(group);
    lock.lock();
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(size));
    running_ = 0;
    Count(size);
    for (Waiter* waiter : group) {
      waiter->done = true;
      waiter->wake.notify_one();
    }
  }
}

void GroupCommit::Count(size_t size) {
  ++groups_;
  stats_.operations += size;
  size_t bucket = 0;
  while ((size_t{1} << bucket) < size) ++bucket;  // size ≤ kMaxGroup = 2^7
  ++stats_.groups[bucket];
}

void GroupCommit::Lead(std::deque<Waiter*>& group) {
  const auto now = std::chrono::steady_clock::now();
  std::deque<Waiter*> live;
  for (Waiter* waiter : group) {
    if (now - waiter->enqueued <= timeout_) {
      live.push_back(waiter);
      continue;
    }
    waiter->error = Error("store: waited longer than storage.timeout_ms for a write transaction",
                          ErrorCode::kUnavailable);
    waiter->error->cause = "timeout";
  }
  if (live.empty()) return;
  std::optional<Error> failed = Guarded([&] {
    ConnectionPool::Lease lease = pool_.Acquire();
    // Each round either commits or takes out the one operation that failed.
    while (!live.empty() && !RunTogether(*lease, live)) {
    }
  });
  if (!failed) return;
  for (Waiter* waiter : live) waiter->error = failed;
}

bool GroupCommit::RunTogether(SqlConnection& connection, std::deque<Waiter*>& group) {
  SqlTransaction transaction(dialect_, connection);  // rolled back unless committed
  for (auto it = group.begin(); it != group.end(); ++it) {
    Waiter* waiter = *it;
    waiter->error = Guarded([&] { (*waiter->operation)(connection); });
    if (waiter->error) {
      group.erase(it);  // failed alone: the others run again without it
      return false;
    }
  }
  transaction.Commit();  // throws: every operation of the group fails with its error
  if (after_commit_) after_commit_();
  group.clear();
  return true;
}

uint64_t GroupCommit::groups() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return groups_;
}

uint64_t GroupCommit::operations() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_.operations;
}

CommitGroupStats GroupCommit::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

size_t GroupCommit::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size() - running_;
}

}  // namespace authgate
