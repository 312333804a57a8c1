// OtpFailuresInFlight: the wrong request otps of each session that this process has compared
// and not yet counted in the store — being counted now, or deferred because the store could
// not be reached. A correct code is accepted only while the failures already counted plus these
// stay under the limit (SPEC §10.5), so a right guess racing many wrong ones on one instance
// cannot be the limit's (n+1)-th check, and a store outage does not turn the otp check into an
// unlimited oracle: a wrong code answered while the store was down stays counted here and is
// written to the store once it answers again (TakeDeferred).
//
// Thread-safe; Count() takes no lock while nothing is in flight (the verify hot path). Bounded:
// at most kMaxDeferred deferred failures are kept (beyond, the oldest is forgotten).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace authgate {

class OtpFailuresInFlight {
 public:
  struct Deferred {
    std::string session_id;
    int64_t user_id = 0;
    int64_t at = 0;  // unix seconds of the answer
  };
  static constexpr size_t kMaxDeferred = 100000;

  void Begin(const std::string& session_id);
  void End(const std::string& session_id);  // once per Begin, and per taken Deferred
  // A failure answered but not counted in the store: counted here until taken and Ended.
  void Defer(Deferred failure);
  // The deferred failures, still counted (as in flight) until the caller Ends each one after
  // the store counted it, or gives it back with Redefer.
  std::vector<Deferred> TakeDeferred();
  void Redefer(Deferred failure);  // a taken failure the store could not count yet
  int Count(const std::string& session_id) const;

 private:
  void AddLocked(const std::string& session_id);
  void RemoveLocked(const std::string& session_id);

  mutable std::mutex mutex_;
  std::atomic<int> total_{0};
  std::unordered_map<std::string, int> counts_;  // sessions with failures in flight only
  std::deque<Deferred> deferred_;
};

}  // namespace authgate
