// GroupCommit: concurrent write transactions of one process committed together, one commit (one
// fsync) for many (issue 14.3). An engine whose write transactions lock the whole database
// (SQLite: BEGIN IMMEDIATE) runs its writers one at a time anyway; what grouping adds is that
// the writers waiting meanwhile share the next transaction instead of paying a commit each.
//
// One committer thread (started by the constructor, joined by the destructor) does the writing:
// it waits for a caller, leases a connection, begins one write transaction, runs every
// operation queued at that moment (at most kMaxGroup, in arrival order) each under a savepoint
// of its own, commits, wakes their callers, and takes the next group at once — while a group
// commits, the next one queues. (The first version let the first waiting caller lead, as
// LevelDB's writers do; handing the lead from thread to thread cost a wake-up between every two
// groups, ~0.45 ms on a 2-vCPU VM, a fifth of the refresh throughput.) Each operation sees the
// writes of those before it in the group, as if they had run one after another, and every
// caller returns only after the commit that holds its writes: durability is unchanged, each
// answer still follows its own commit.
//
// If one operation of a group throws, it fails with its error and the group is rolled back and
// run again without it, so one failure never fails another (an operation may therefore run more
// than once: its body must only touch the connection). If the commit fails, every operation of
// the group fails with its error and nothing of it is written. An operation that
// waited longer than storage.timeout_ms before its group began fails unrun ("timeout").
//
// Run is thread-safe; it blocks its caller. Operations run on the committer thread. A test hook
// (fault injection for the crash tests) may run there after each commit, before any caller is
// woken.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "core/result.h"
#include "store/connection_pool.h"
#include "store/dialect.h"
#include "store/store.h"

namespace authgate {

class GroupCommit {
 public:
  static constexpr size_t kMaxGroup = 128;
  // Runs one operation on the group's connection; throws (SqlError, ...) on failure. It is
  // called inside the group's transaction, between "SAVEPOINT" and "RELEASE" it issues itself
  // (SqlTransaction's grouped mode).
  using Operation = std::function<void(SqlConnection&)>;

  GroupCommit(ConnectionPool& pool, const Dialect& dialect, int timeout_ms);
  ~GroupCommit();  // call once no Run is in progress
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // Runs `operation` in a shared write transaction; returns once that committed (nothing: the
  // operation's writes are durable) or failed (the error; none of its writes remain).
  std::optional<Error> Run(const Operation& operation);

  // Counts since construction, for tests and metrics.
  uint64_t groups() const;
  uint64_t operations() const;
  CommitGroupStats stats() const;
  // Callers waiting for a group to begin (not those of the group running now), for tests.
  size_t queued() const;

  // Called after every commit, before the callers are woken (tests: a crash at that point).
  void set_after_commit(std::function<void()> hook) { after_commit_ = std::move(hook); }

 private:
  struct Waiter {
    const Operation* operation;
    std::chrono::steady_clock::time_point enqueued;
    std::optional<Error> error;
    bool done = false;
    std::condition_variable wake;
  };

  // The committer thread: takes the queued operations (at most kMaxGroup) as one group, runs
  // them, wakes their callers, and takes the next group, until destruction.
  void Commit();
  // Runs `group` and records each waiter's outcome.
  void Lead(std::deque<Waiter*>& group);
  void Count(size_t size);  // under mutex_
  // Runs `group` in one transaction and empties it when that committed; when an operation
  // fails, rolls back, records its error and takes it out of `group` (false).
  bool RunTogether(SqlConnection& connection, std::deque<Waiter*>& group);

  ConnectionPool& pool_;
  const Dialect& dialect_;
  const std::chrono::milliseconds timeout_;
  std::function<void()> after_commit_;
  mutable std::mutex mutex_;
  std::condition_variable work_;  // the committer's: callers queued, or stopping_
  std::deque<Waiter*> queue_;     // the front ones form the running group
  size_t running_ = 0;            // how many at the front of queue_ form the running group
  bool stopping_ = false;
  uint64_t groups_ = 0;
  CommitGroupStats stats_;
  std::thread committer_;  // last: starts once the members above are ready
};

}  // namespace authgate
