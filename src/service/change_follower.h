// ChangeFollower: keeps this instance's VerifyCache and KeyRing in step with changes made
// elsewhere (other instances, the CLI), by reading the store's change log (Store::ChangesSince):
// a changed user or session is dropped from the cache, changed signing keys are reloaded and
// every cached token verified again. Within the poll interval of a change anywhere, no instance
// answers from the old state.
//
// Its reads are also StoreHealth's background probe (SPEC §10.1): the only thing that closes
// the circuit again once a store call failed. And its thread prunes the store now and then
// (Store::Prune), so one background thread is all the store work `serve` does by itself. Its
// failures are logged with their causes through StoreHealth (rate-limited there).
//
// Poll may be called from one thread at a time; after Start, only the follower's own thread
// calls it. The destructor stops that thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/lockout.h"
#include "service/key_ring.h"
#include "service/periodic_thread.h"
#include "service/store_health.h"
#include "service/verify_cache.h"
#include "store/store.h"

namespace authgate {

class ChangeFollower {
 public:
  struct Settings {
    std::chrono::milliseconds poll_interval{20};
    int64_t prune_interval_s = 60;
    int64_t access_ttl_s = 3600;  // Store::Prune's arguments (the leeway included)
    LockoutPolicy lockout;
    // Run on the follower's thread after every successful poll (the store answers again):
    // work deferred while it did not (AuthService::FlushDeferredOtpFailures).
    std::function<void()> after_successful_poll;
  };

  ChangeFollower(Store& store, KeyRing& keys, VerifyCache& cache, StoreHealth& health,
                 const Clock& clock, Settings settings);
  ChangeFollower(const ChangeFollower&) = delete;
  ChangeFollower& operator=(const ChangeFollower&) = delete;

  // Applies the changes logged since the last call (the first call only finds the log's end:
  // the cache is empty then, so nothing older can be stale). False on a store error.
  bool Poll();
  // Starts the background thread: Poll every poll_interval, prune every prune_interval_s.
  void Start();

 private:
  // Applies `changes` in order; false when the keys changed and cannot be reloaded.
  bool Apply(const std::vector<Change>& changes);
  // Logs a failed step of a poll (StoreHealth: one line per second per cause); false.
  bool Failed(const Error& error, std::string_view operation);
  // One round of the thread: Poll, and Prune when it is time.
  void Follow();
  // Logged on transitions only: an outage must not write 50 lines a second.
  void LogTransition(bool ok);

  Store& store_;
  KeyRing& keys_;
  VerifyCache& cache_;
  StoreHealth& health_;
  const Clock& clock_;
  const Settings settings_;
  int64_t seen_seq_ = -1;  // the last change applied; -1 before the first Poll
  bool following_ = true;  // the last Poll's verdict, for LogTransition
  int64_t last_prune_ = 0;
  PeriodicThread thread_;  // last: stopped before the members it uses go
};

}  // namespace authgate
