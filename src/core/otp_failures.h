// The request-otp rule of SPEC §10.5: a session is revoked once `max_failed_attempts` wrong
// request otps were answered for it within `duration_s`, whether or not correct ones came in
// between (a window, not a streak: a thief using a token beside its owner gets no fresh rounds).
//
// A session keeps the times of its recent failures (at most max_failed_attempts - 1 of them,
// oldest first; stored as text by the stores). Pure functions of (times, now); the store applies
// AddOtpFailure inside one atomic step, which is what makes the count exact under concurrency
// and across instances. Any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/lockout.h"

namespace authgate {

using OtpFailureTimes = std::vector<int64_t>;

// "t1,t2,...": what the stores keep. Malformed text parses as the numbers it starts with.
OtpFailureTimes ParseOtpFailureTimes(std::string_view text);
std::string FormatOtpFailureTimes(const OtpFailureTimes& times);

// How many of `times` still count at `now`.
int RecentOtpFailures(const OtpFailureTimes& times, int64_t now, const LockoutPolicy& policy);

struct OtpFailureStep {
  OtpFailureTimes times;  // what to keep when the session lives on
  bool revoke = false;    // this failure reached the limit
};
// One more wrong otp answered at `now`.
OtpFailureStep AddOtpFailure(const OtpFailureTimes& times, int64_t now,
                             const LockoutPolicy& policy);

}  // namespace authgate
