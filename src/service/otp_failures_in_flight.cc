#include "service/otp_failures_in_flight.h"

namespace authgate {

void OtpFailuresInFlight::Begin(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++counts_[session_id];
  total_.fetch_add(1, std::memory_order_release);
}

void OtpFailuresInFlight::End(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = counts_.find(session_id);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
  total_.fetch_sub(1, std::memory_order_release);
}

int OtpFailuresInFlight::Count(const std::string& session_id) const {
  if (total_.load(std::memory_order_acquire) == 0) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = counts_.find(session_id);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace authgate
