// PeriodicThread: one background thread that runs a step, waits an interval and runs it again,
// until its owner goes: the loop of the store's background probes (change_follower.h,
// write_probe.h). The destructor wakes the wait and joins the thread, so no step runs after it
// returns; declare it after everything its step uses.
//
// Start at most once. Start and the destructor are the owner's; the step runs on the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace authgate {

class PeriodicThread {
 public:
  PeriodicThread() = default;
  ~PeriodicThread();
  PeriodicThread(const PeriodicThread&) = delete;
  PeriodicThread& operator=(const PeriodicThread&) = delete;

  // Runs `step` now and then `interval` after each run ends.
  void Start(std::chrono::milliseconds interval, std::function<void()> step);

 private:
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace authgate
