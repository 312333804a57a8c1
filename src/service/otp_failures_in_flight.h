// OtpFailuresInFlight: the wrong request otps of each session that this process has compared
// and not yet counted in the store. A correct code is accepted only while the failures already
// counted plus these stay under the limit (SPEC §10.5), so a right guess racing many wrong ones
// on one instance cannot be the limit's (n+1)-th check. Thread-safe; Count() takes no lock while
// nothing is in flight (the verify hot path).
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

namespace authgate {

class OtpFailuresInFlight {
 public:
  void Begin(const std::string& session_id);
  void End(const std::string& session_id);  // once per Begin
  int Count(const std::string& session_id) const;

 private:
  mutable std::mutex mutex_;
  std::atomic<int> total_{0};
  std::unordered_map<std::string, int> counts_;  // sessions with failures in flight only
};

}  // namespace authgate
