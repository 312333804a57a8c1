// Metrics: counters and latency histograms rendered in the Prometheus text format (with HELP
// and TYPE lines). Thread-safe; label values are chosen by the program, never by clients.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace authgate {

class Metrics {
 public:
  // Families: logins, verifications, refreshes, logouts (label "result"); locks,
  // refresh_reuse, revocations (label "reason"); requests (label "endpoint" and "code").
  void Count(std::string_view family, std::string_view label_value);
  void ObserveLatency(std::string_view endpoint, double seconds);
  std::string Render(size_t hash_queue_depth, uint64_t store_errors) const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.25,   1.0};
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, uint64_t>, std::less<>> counters_;
  std::map<std::string, Histogram, std::less<>> latencies_;
};

}  // namespace authgate
