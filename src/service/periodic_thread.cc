#include "service/periodic_thread.h"

#include <utility>

namespace authgate {

PeriodicThread::~PeriodicThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicThread::Start(std::chrono::milliseconds interval, std::function<void()> step) {
  thread_ = std::thread([this, interval, step = std::move(step)] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stop_) {
      lock.unlock();
      step();
      lock.lock();
      wake_.wait_for(lock, interval, [this] { return stop_; });
    }
  });
}

}  // namespace authgate
