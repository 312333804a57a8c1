// Metrics: counters and latency histograms rendered in the Prometheus text format (with HELP
// and TYPE lines). Thread-safe; label values are chosen by the program, never by clients.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace authgate {

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.25,   1.0};
  // A latency histogram; Observe is lock-free.
  class Histogram {
   public:
    void Observe(double seconds);

   private:
    friend class Metrics;
    std::array<std::atomic<uint64_t>, kBuckets.size()> buckets_{};
    std::atomic<uint64_t> count_{0};
    std::atomic<uint64_t> sum_ns_{0};
  };

  // Families: logins, verifications, refreshes, logouts (label "result"); locks,
  // refresh_reuse, revocations (label "reason"); requests (label "status").
  // The returned references stay valid for the life of the Metrics: hot paths keep them.
  std::atomic<uint64_t>& Counter(std::string_view family, std::string_view label_value);
  Histogram& Latency(std::string_view endpoint);
  void Count(std::string_view family, std::string_view label_value) {
    Counter(family, label_value).fetch_add(1, std::memory_order_relaxed);
  }
  std::string Render(size_t hash_queue_depth, uint64_t store_errors) const;

 private:
  mutable std::mutex mutex_;  // guards the maps' structure, not the values
  std::map<std::string, std::map<std::string, std::atomic<uint64_t>, std::less<>>, std::less<>>
      counters_;
  std::map<std::string, Histogram, std::less<>> latencies_;
};

}  // namespace authgate
