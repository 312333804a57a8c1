// StoreHealth: whether the store answers, as last seen by the background probe (the change
// follower's reads) and by the calls themselves (SPEC §10.1), and how many store calls failed.
// While it is down, work that needs the store is refused at once (503) instead of queueing
// behind calls that wait for a timeout: a circuit that a failed call opens and only a
// successful probe closes again.
//
// Thread-safe and lock-free; Up() is cheap enough for every request.
#pragma once

#include <atomic>
#include <cstdint>

namespace authgate {

class StoreHealth {
 public:
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
  // Failed store calls since start (the metric authgate_store_errors_total).
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> up_{true};
  std::atomic<uint64_t> errors_{0};
};

}  // namespace authgate
