// StoreHealth: whether the store answers, as last seen by the background probe (the change
// follower's reads) and by the calls themselves (SPEC §10.1). While it is down, work that needs
// the store is refused at once (503) instead of queueing behind calls that wait for a timeout:
// a circuit that a failed call opens and only a successful probe closes again.
//
// Thread-safe and lock-free; Up() is cheap enough for every request.
#pragma once

#include <atomic>

namespace authgate {

class StoreHealth {
 public:
  bool Up() const { return up_.load(std::memory_order_acquire); }
  // A store call failed (unreachable, timed out): open the circuit.
  void CallFailed() { up_.store(false, std::memory_order_release); }
  // The background probe's verdict: the only way to close the circuit.
  void Probed(bool answered) { up_.store(answered, std::memory_order_release); }

 private:
  std::atomic<bool> up_{true};
};

}  // namespace authgate
