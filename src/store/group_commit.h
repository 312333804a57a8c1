// GroupCommit: concurrent write transactions of one process committed together, one commit (one
// fsync) for many (issue 14.3). An engine whose write transactions lock the whole database
// (SQLite: BEGIN IMMEDIATE) runs its writers one at a time anyway; what grouping adds is that
// the writers waiting meanwhile share the next transaction instead of paying a commit each.
//
// The first caller to find no group running leads: it leases a connection, begins one write
// transaction, runs every operation queued so far (its own first, at most kMaxGroup) each under
// a savepoint of its own, commits, and wakes them; the next waiter then leads the next group
// (LevelDB's write batching). Each operation sees the writes of those before it in the group,
// as if they had run one after another, and every caller returns only after the commit that
// holds its writes: durability is unchanged, each answer still follows its own commit.
//
// If one operation of a group throws, it fails with its error and the group is rolled back and
// run again without it, so one failure never fails another (an operation may therefore run more
// than once: its body must only touch the connection). If the commit fails, every operation of
// the group fails with its error and nothing of it is written. An operation that
// waited longer than storage.timeout_ms before its group began fails unrun ("timeout").
//
// Thread-safe. A test hook (fault injection for the crash tests) may run after each commit,
// before any caller is woken.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>

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

  // The leader's work: runs `group` and records each waiter's outcome.
  void Lead(std::deque<Waiter*>& group);
  // Runs `group` in one transaction and empties it when that committed; when an operation
  // fails, rolls back, records its error and takes it out of `group` (false).
  bool RunTogether(SqlConnection& connection, std::deque<Waiter*>& group);

  ConnectionPool& pool_;
  const Dialect& dialect_;
  const std::chrono::milliseconds timeout_;
  std::function<void()> after_commit_;
  mutable std::mutex mutex_;
  std::deque<Waiter*> queue_;  // the front one leads (or will, once woken)
  size_t running_ = 0;         // how many at the front of queue_ form the running group
  uint64_t groups_ = 0;
  CommitGroupStats stats_;
};

}  // namespace authgate
