#include "service/otp_failures_in_flight.h"

namespace authgate {

void OtpFailuresInFlight::AddLocked(const std::string& session_id) {
  ++counts_[session_id];
  total_.fetch_add(1, std::memory_order_release);
}

void OtpFailuresInFlight::RemoveLocked(const std::string& session_id) {
  auto it = counts_.find(session_id);
  if (it == counts_.end()) return;
  if (--it->second == 0) counts_.erase(it);
  total_.fetch_sub(1, std::memory_order_release);
}

void OtpFailuresInFlight::Begin(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  AddLocked(session_id);
}

void OtpFailuresInFlight::End(const std::string& session_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  RemoveLocked(session_id);
}

void OtpFailuresInFlight::Defer(Deferred failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  AddLocked(failure.session_id);
  deferred_.push_back(std::move(failure));
  if (deferred_.size() > kMaxDeferred) {
    RemoveLocked(deferred_.front().session_id);
    deferred_.pop_front();
  }
}

std::vector<OtpFailuresInFlight::Deferred> OtpFailuresInFlight::TakeDeferred() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<Deferred> taken(std::make_move_iterator(deferred_.begin()),
                              std::make_move_iterator(deferred_.end()));
  deferred_.clear();
  return taken;
}

void OtpFailuresInFlight::Redefer(Deferred failure) {
  std::lock_guard<std::mutex> lock(mutex_);
  deferred_.push_back(std::move(failure));  // still counted since it was first deferred
}

int OtpFailuresInFlight::Count(const std::string& session_id) const {
  if (total_.load(std::memory_order_acquire) == 0) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = counts_.find(session_id);
  return it == counts_.end() ? 0 : it->second;
}

}  // namespace authgate
