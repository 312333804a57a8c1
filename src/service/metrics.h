// Metrics: counters and latency histograms rendered in the Prometheus text format (with HELP
// and TYPE lines). Thread-safe; label values are chosen by the program, never by clients.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "store/store.h"

namespace authgate {

// A counter spread over cache-line-sized stripes: each thread adds to its own stripe (threads
// are given stripes in turn), so threads counting at once do not fight over one cache line.
// Value() sums the stripes.
class StripedCounter {
 public:
  static constexpr size_t kStripes = 8;
  // This thread's stripe, in [0, kStripes).
  static size_t ThreadStripe();

  void Add(uint64_t n = 1) {
    stripes_[ThreadStripe()].value.fetch_add(n, std::memory_order_relaxed);
  }
  uint64_t Value() const;

 private:
  struct alignas(64) Stripe {
    std::atomic<uint64_t> value{0};
  };
  std::array<Stripe, kStripes> stripes_;
};

// The store as Render shows it: failed calls, and the last verdicts of its two probes
// (StoreHealth: reads answer, writes commit).
struct StoreGauges {
  uint64_t errors = 0;
  bool reads_up = true;
  bool writes_up = true;
  std::optional<CommitGroupStats> commit_groups;  // SQLite's group commit (store.h)
};

class Metrics {
 public:
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                      0.005,  0.01,    0.025,  0.05,  0.1,
                                                      0.25,   1.0};
  // A latency histogram; Observe is lock-free and, like StripedCounter, writes this thread's
  // stripe only.
  class Histogram {
   public:
    void Observe(double seconds);

   private:
    friend class Metrics;
    struct alignas(64) Stripe {
      std::array<std::atomic<uint64_t>, kBuckets.size()> buckets{};
      std::atomic<uint64_t> count{0};
      std::atomic<uint64_t> sum_ns{0};
    };
    std::array<Stripe, StripedCounter::kStripes> stripes_;
  };

  // Families: logins, verifications, refreshes, logouts (label "result"); locks, credential_holds,
  // refresh_reuse, revocations (label "reason"); ratelimited (label "endpoint"); hash_helpers
  // (label "event": replaced, in_process); requests
  // (labels "endpoint" and "status": use RequestStats).
  // The returned references stay valid for the life of the Metrics: hot paths keep them.
  StripedCounter& Counter(std::string_view family, std::string_view label_value);
  Histogram& Latency(std::string_view endpoint, unsigned status);
  void Count(std::string_view family, std::string_view label_value) {
    Counter(family, label_value).Add();
  }
  std::string Render(size_t hash_queue_depth, const StoreGauges& store) const;
  // Requests on a worker pool (queued or running): logins, refreshes, logouts.
  std::atomic<int64_t>& InProgress() { return in_progress_; }

 private:
  mutable std::mutex mutex_;  // guards the maps' structure, not the values
  std::map<std::string, std::map<std::string, StripedCounter, std::less<>>, std::less<>> counters_;
  std::map<std::pair<std::string, unsigned>, Histogram> latencies_;
  std::atomic<int64_t> in_progress_{0};
};

// Requests by endpoint and status: a counter and a latency histogram per pair, created on the
// pair's first use. Observe is lock-free once a pair exists (the usual statuses are slotted).
class RequestStats {
 public:
  RequestStats(Metrics& metrics, std::vector<std::string> endpoints);
  // `endpoint` indexes the constructor's list.
  void Observe(size_t endpoint, unsigned status, double seconds);

 private:
  static constexpr std::array<unsigned, 12> kStatuses = {200, 400, 401, 403, 404, 405,
                                                         413, 415, 429, 431, 500, 503};
  struct Slot {
    std::atomic<StripedCounter*> counter{nullptr};
    std::atomic<Metrics::Histogram*> latency{nullptr};
  };
  Metrics& metrics_;
  const std::vector<std::string> endpoints_;
  std::unique_ptr<Slot[]> slots_;  // endpoints × kStatuses
  std::array<int8_t, 600> slot_of_status_{};
};

}  // namespace authgate
