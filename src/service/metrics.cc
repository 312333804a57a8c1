#include "service/metrics.h"

#include <algorithm>
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
    {"credential_holds", "authgate_credential_holds_total", "reason",
     "Accounts held after wrong login otps with the right password (SPEC 10.3): the password "
     "is known to someone."},
    {"refresh_reuse", "authgate_refresh_reuse_total", "reason",
     "Rotated refresh tokens presented again (session revoked)."},
    {"revocations", "authgate_revocations_total", "reason", "Sessions revoked by reason."},
    {"requests", "authgate_http_requests_total", nullptr,
     "HTTP responses by endpoint and status code."},
    {"ratelimited", "authgate_ratelimited_total", "endpoint", "Requests refused with 429."},
    {"password_implementation", "authgate_password_implementation", "implementation",
     "The Argon2id implementation verifying passwords (password.implementation): 1 for the one "
     "in use."},
    {"hash_helpers", "authgate_hash_helper_events_total", "event",
     "Password-hash helpers replaced after a failure, and verifications run in the server "
     "because a replacement failed too."},
};

// The label set of one (endpoint, status) pair, as rendered and as the requests counter's key.
std::string EndpointStatusLabels(std::string_view endpoint, unsigned status) {
  return "endpoint=\"" + std::string(endpoint) + "\",status=\"" + std::to_string(status) + "\"";
}

}  // namespace

size_t StripedCounter::ThreadStripe() {
  static std::atomic<size_t> next{0};
  thread_local const size_t stripe = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
  return stripe;
}

uint64_t StripedCounter::Value() const {
  uint64_t total = 0;
  for (const Stripe& stripe : stripes_) total += stripe.value.load(std::memory_order_relaxed);
  return total;
}

StripedCounter& Metrics::Counter(std::string_view family, std::string_view label_value) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto family_it = counters_.find(family);
  if (family_it == counters_.end()) {
    family_it = counters_.try_emplace(std::string(family)).first;
  }
  auto& values = family_it->second;
  auto it = values.find(label_value);
  if (it == values.end()) it = values.try_emplace(std::string(label_value)).first;
  return it->second;
}

Metrics::Histogram& Metrics::Latency(std::string_view endpoint, unsigned status) {
  std::lock_guard<std::mutex> lock(mutex_);
  return latencies_[{std::string(endpoint), status}];
}

// One bucket per observation (the first that holds it); Render makes them cumulative.
void Metrics::Histogram::Observe(double seconds) {
  Stripe& stripe = stripes_[StripedCounter::ThreadStripe()];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) {
      stripe.buckets[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  stripe.count.fetch_add(1, std::memory_order_relaxed);
  stripe.sum_ns.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

namespace {

// How many write operations each commit carried (SQLite's group commit), as a histogram.
void RenderCommitGroups(const CommitGroupStats& stats, std::ostringstream& out) {
  out << "# HELP authgate_store_commit_group_size Write operations per commit (SQLite commits "
         "concurrent writes together).\n";
  out << "# TYPE authgate_store_commit_group_size histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < stats.groups.size(); ++i) {
    cumulative += stats.groups[i];
    out << "authgate_store_commit_group_size_bucket{le=\"" << (1u << i) << "\"} " << cumulative
        << "\n";
  }
  out << "authgate_store_commit_group_size_bucket{le=\"+Inf\"} " << cumulative << "\n";
  out << "authgate_store_commit_group_size_sum " << stats.operations << "\n";
  out << "authgate_store_commit_group_size_count " << cumulative << "\n";
}

}  // namespace

std::string Metrics::Render(size_t hash_queue_depth, const StoreGauges& store) const {
  std::ostringstream out;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const FamilyInfo& family : kFamilies) {
    out << "# HELP " << family.metric << " " << family.help << "\n";
    out << "# TYPE " << family.metric << " counter\n";
    auto it = counters_.find(family.name);
    if (it == counters_.end()) continue;
    for (const auto& [value, count] : it->second) {
      out << family.metric << "{";
      if (family.label != nullptr) out << family.label << "=\"" << value << "\"";
      else out << value;  // a whole label set, e.g. endpoint="/healthz",status="200"
      out << "} " << count.Value() << "\n";
    }
  }
  out << "# HELP authgate_request_duration_seconds Request latency by endpoint and status.\n";
  out << "# TYPE authgate_request_duration_seconds histogram\n";
  for (const auto& [key, histogram] : latencies_) {
    const std::string labels = EndpointStatusLabels(key.first, key.second);
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kBuckets.size(); ++i) {
      for (const Histogram::Stripe& stripe : histogram.stripes_) {
        cumulative += stripe.buckets[i].load(std::memory_order_relaxed);
      }
      out << "authgate_request_duration_seconds_bucket{" << labels << ",le=\"" << kBuckets[i]
          << "\"} " << cumulative << "\n";
    }
    uint64_t count = 0;
    uint64_t sum_ns = 0;
    for (const Histogram::Stripe& stripe : histogram.stripes_) {
      count += stripe.count.load(std::memory_order_relaxed);
      sum_ns += stripe.sum_ns.load(std::memory_order_relaxed);
    }
    out << "authgate_request_duration_seconds_bucket{" << labels << ",le=\"+Inf\"} "
        << std::max(count, cumulative) << "\n";
    out << "authgate_request_duration_seconds_sum{" << labels << "} "
        << static_cast<double>(sum_ns) / 1e9 << "\n";
    out << "authgate_request_duration_seconds_count{" << labels << "} "
        << std::max(count, cumulative) << "\n";
  }
  out << "# HELP authgate_requests_in_progress Requests queued for or running on a worker pool.\n";
  out << "# TYPE authgate_requests_in_progress gauge\n";
  out << "authgate_requests_in_progress " << in_progress_.load() << "\n";
  out << "# HELP authgate_hash_queue_depth Password hashing tasks waiting for a worker.\n";
  out << "# TYPE authgate_hash_queue_depth gauge\n";
  out << "authgate_hash_queue_depth " << hash_queue_depth << "\n";
  out << "# HELP authgate_store_errors_total Store operations that failed.\n";
  out << "# TYPE authgate_store_errors_total counter\n";
  out << "authgate_store_errors_total " << store.errors << "\n";
  out << "# HELP authgate_store_up 1 while the store answers reads (probe=\"read\") and commits "
         "writes (probe=\"write\"); /readyz is 200 while both are.\n";
  out << "# TYPE authgate_store_up gauge\n";
  out << "authgate_store_up{probe=\"read\"} " << (store.reads_up ? 1 : 0) << "\n";
  out << "authgate_store_up{probe=\"write\"} " << (store.writes_up ? 1 : 0) << "\n";
  if (store.commit_groups) RenderCommitGroups(*store.commit_groups, out);
  return out.str();
}

RequestStats::RequestStats(Metrics& metrics, std::vector<std::string> endpoints)
    : metrics_(metrics),
      endpoints_(std::move(endpoints)),
      slots_(std::make_unique<Slot[]>(endpoints_.size() * kStatuses.size())) {
  slot_of_status_.fill(-1);
  for (size_t i = 0; i < kStatuses.size(); ++i) slot_of_status_[kStatuses[i]] = static_cast<int8_t>(i);
}

void RequestStats::Observe(size_t endpoint, unsigned status, double seconds) {
  const std::string& name = endpoints_[endpoint];
  const int slot_index = status < slot_of_status_.size() ? slot_of_status_[status] : -1;
  if (slot_index < 0) {  // an unusual status: the slow, locked path
    metrics_.Count("requests", EndpointStatusLabels(name, status));
    metrics_.Latency(name, status).Observe(seconds);
    return;
  }
  Slot& slot = slots_[endpoint * kStatuses.size() + static_cast<size_t>(slot_index)];
  StripedCounter* counter = slot.counter.load(std::memory_order_acquire);
  Metrics::Histogram* latency = slot.latency.load(std::memory_order_acquire);
  if (counter == nullptr || latency == nullptr) {
    // First use of this pair (possibly on two threads at once: both resolve the same objects).
    counter = &metrics_.Counter("requests", EndpointStatusLabels(name, status));
    latency = &metrics_.Latency(name, status);
    slot.counter.store(counter, std::memory_order_release);
    slot.latency.store(latency, std::memory_order_release);
  }
  counter->Add();
  latency->Observe(seconds);
}

}  // namespace authgate
