// WorkerPool: a fixed number of threads draining a bounded queue. Submit refuses work instead
// of queueing without bound, so an overload becomes a fast 503, never a growing backlog.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace authgate {

class WorkerPool {
 public:
  // `nice` > 0 lowers the workers' scheduling priority (Linux: per thread), so that work
  // competing with them for the cores (the I/O threads) runs first.
  WorkerPool(size_t threads, size_t queue_max, int nice = 0);
  ~WorkerPool();  // finishes queued work, then joins
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // False when the queue already holds queue_max tasks (the task is not run).
  bool Submit(std::function<void()> task);
  size_t QueueDepth() const;
  size_t threads() const { return threads_.size(); }

 private:
  void Run(int nice);

  const size_t queue_max_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace authgate
