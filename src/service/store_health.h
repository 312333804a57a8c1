// StoreHealth: whether the store answers reads, as last seen by the background probe (the change
// follower's reads) and by the calls themselves (SPEC §10.1); whether it commits writes, as last
// seen by the write probe (write_probe.h, issue 16.2); and how many store calls failed.
//
// While reads fail, work that needs the store is refused at once (503) instead of queueing
// behind calls that wait for a timeout: a circuit that a failed call opens and only a successful
// read probe closes again. Ready (what /readyz reports) needs both halves: reads answer, and a
// heartbeat committed within kWritesFreshFor. A store that reads but cannot commit (a full disk,
// a read-only database) is not ready, yet its circuit stays closed: what only reads (a cold
// verify) goes on working, and what writes fails on its own.
//
// Thread-safe and lock-free; Up() and Ready() are cheap enough for every request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>

namespace authgate {

class StoreHealth {
 public:
  using SteadyTime = std::chrono::steady_clock::time_point;
  // How long one committed heartbeat keeps the store writable: two write probe intervals, so a
  // commit that hangs (a lock, a synchronous standby gone) makes the instance unready within
  // 2 s, however long storage.timeout_ms lets the commit wait.
  static constexpr std::chrono::milliseconds kWritesFreshFor{2000};

  bool Up() const { return up_.load(std::memory_order_acquire); }
  // A store call that the answer depends on failed (unreachable, timed out): counted, and the
  // circuit opens.
  void CallFailed() {
    errors_.fetch_add(1, std::memory_order_relaxed);
    up_.store(false, std::memory_order_release);
  }
  // A best-effort write failed after the answer was decided (a rehash, a reset of a count that
  // is reset again at the next success): counted only, since the request itself succeeded.
  void WriteFailed() { errors_.fetch_add(1, std::memory_order_relaxed); }
  // The background probe's verdict: the only way to close the circuit.
  void Probed(bool answered) { up_.store(answered, std::memory_order_release); }

  // The write probe's verdict at `now`: a heartbeat committed, or failed (writable no more).
  void WriteProbed(bool committed, SteadyTime now) {
    committed_at_ns_.store(committed ? Nanoseconds(now) : kNever, std::memory_order_release);
  }
  // True when the last heartbeat committed, at most kWritesFreshFor before `now`. False before
  // the first one.
  bool Writable(SteadyTime now) const {
    const int64_t committed_at = committed_at_ns_.load(std::memory_order_acquire);
    return committed_at != kNever &&
           Nanoseconds(now) - committed_at <= std::chrono::nanoseconds(kWritesFreshFor).count();
  }
  // What /readyz answers: reads answer and writes commit.
  bool Ready(SteadyTime now) const { return Up() && Writable(now); }

  // Failed store calls since start (the metric authgate_store_errors_total).
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
  static int64_t Nanoseconds(SteadyTime time) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  }

  std::atomic<bool> up_{true};
  std::atomic<int64_t> committed_at_ns_{kNever};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace authgate
