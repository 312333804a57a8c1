// WriteProbe: StoreHealth's write half (issue 16.2). Every interval it commits this instance's
// heartbeat (Store::Heartbeat: its one row set, rows of instances stopped long ago deleted) and
// tells StoreHealth whether the commit went through. /readyz is 200 only while one did within
// StoreHealth::kWritesFreshFor, so an instance that reads but cannot commit (a full disk, a
// read-only database) leaves its load balancer within 2 s, and is back within an interval of the
// first commit that works. It never touches the circuit: reads are the change follower's probe.
//
// A thread of its own, not the change follower's: a commit can wait up to storage.timeout_ms (a
// lock, a synchronous standby gone), and the follower must keep its 20 ms pace meanwhile. A
// commit costs a transaction with two statements (on SQLite one fsync) per interval. That writes
// begin to fail is logged once, and once that they commit again.
//
// Beat may be called from one thread at a time; after Start, only the probe's own thread calls
// it. The destructor stops that thread.
#pragma once

#include <chrono>
#include <string>

#include "core/clock.h"
#include "service/periodic_thread.h"
#include "service/store_health.h"
#include "store/store.h"

namespace authgate {

class WriteProbe {
 public:
  struct Settings {
    std::string instance_id;  // this instance's heartbeat row, unique among running instances
    std::chrono::milliseconds interval{1000};  // well under StoreHealth::kWritesFreshFor
  };

  WriteProbe(Store& store, StoreHealth& health, const Clock& clock, Settings settings);
  WriteProbe(const WriteProbe&) = delete;
  WriteProbe& operator=(const WriteProbe&) = delete;

  // Commits one heartbeat and reports it to StoreHealth; false when it failed.
  bool Beat();
  // Starts the background thread: Beat every interval.
  void Start();

 private:
  // Logged on transitions only: a full disk must not write a line a second.
  void LogTransition(const Status& beat);

  Store& store_;
  StoreHealth& health_;
  const Clock& clock_;
  const Settings settings_;
  bool committing_ = true;  // the last Beat's verdict, for LogTransition
  PeriodicThread thread_;   // last: stopped before the members it uses go
};

}  // namespace authgate
