#include "service/metrics.h"

#include <sstream>

namespace authgate {
namespace {

struct FamilyInfo {
  const char* name;
  const char* metric;
  const char* label;
  const char* help;
};

constexpr FamilyInfo kFamilies[] = {
    {"logins", "authgate_logins_total", "result", "Login attempts by result."},
    {"verifications", "authgate_verifications_total", "result",
     "Authorization checks by result."},
    {"refreshes", "authgate_refreshes_total", "result", "Refresh attempts by result."},
    {"logouts", "authgate_logouts_total", "result", "Logouts by result."},
    {"locks", "authgate_locks_total", "reason", "Usernames locked after failed logins."},
    {"refresh_reuse", "authgate_refresh_reuse_total", "reason",
     "Rotated refresh tokens presented again (session revoked)."},
    {"revocations", "authgate_revocations_total", "reason", "Sessions revoked by reason."},
    {"requests", "authgate_http_requests_total", "status", "HTTP responses by status code."},
    {"ratelimited", "authgate_ratelimited_total", "endpoint", "Requests refused with 429."},
};

}  // namespace

std::atomic<uint64_t>& Metrics::Counter(std::string_view family, std::string_view label_value) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto family_it = counters_.find(family);
  if (family_it == counters_.end()) {
    family_it = counters_.try_emplace(std::string(family)).first;
  }
  auto& values = family_it->second;
  auto it = values.find(label_value);
  if (it == values.end()) it = values.try_emplace(std::string(label_value), 0).first;
  return it->second;
}

Metrics::Histogram& Metrics::Latency(std::string_view endpoint) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = latencies_.find(endpoint);
  if (it == latencies_.end()) it = latencies_.try_emplace(std::string(endpoint)).first;
  return it->second;
}

void Metrics::Histogram::Observe(double seconds) {
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::string Metrics::Render(size_t hash_queue_depth, uint64_t store_errors) const {
  std::ostringstream out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const FamilyInfo& family : kFamilies) {
    out << "# HELP " << family.metric << " " << family.help << "\n";
    out << "# TYPE " << family.metric << " counter\n";
    auto it = counters_.find(family.name);
    if (it == counters_.end()) continue;
    for (const auto& [value, count] : it->second) {
      out << family.metric << "{" << family.label << "=\"" << value << "\"} " << count.load()
          << "\n";
    }
  }
  out << "# HELP authgate_request_duration_seconds Request latency by endpoint.\n";
  out << "# TYPE authgate_request_duration_seconds histogram\n";
  for (const auto& [endpoint, histogram] : latencies_) {
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      out << "authgate_request_duration_seconds_bucket{endpoint=\"" << endpoint << "\",le=\""
          << kBuckets[i] << "\"} " << histogram.buckets_[i].load() << "\n";
    }
    out << "authgate_request_duration_seconds_bucket{endpoint=\"" << endpoint
        << "\",le=\"+Inf\"} " << histogram.count_.load() << "\n";
    out << "authgate_request_duration_seconds_sum{endpoint=\"" << endpoint << "\"} "
        << static_cast<double>(histogram.sum_ns_.load()) / 1e9 << "\n";
    out << "authgate_request_duration_seconds_count{endpoint=\"" << endpoint << "\"} "
        << histogram.count_.load() << "\n";
  }
  out << "# HELP authgate_hash_queue_depth Password hashing tasks waiting for a worker.\n";
  out << "# TYPE authgate_hash_queue_depth gauge\n";
  out << "authgate_hash_queue_depth " << hash_queue_depth << "\n";
  out << "# HELP authgate_store_errors_total Store operations that failed.\n";
  out << "# TYPE authgate_store_errors_total counter\n";
  out << "authgate_store_errors_total " << store_errors << "\n";
  return out.str();
}

}  // namespace authgate
