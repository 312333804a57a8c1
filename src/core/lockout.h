// The lockout policy of SPEC.md §2 as pure functions of (state, now). The store applies them
// inside one atomic step per call, which is what makes the count exact under concurrency.
//
// `count` counts consecutive failures *and* attempts still in flight: an attempt is admitted by
// reserving one unit before its password is checked, so at most max_failed_attempts checks can
// run before the lock holds, however many requests arrive at once. An attempt interrupted by a
// crash stays counted as a failure (the safe side) until the count expires.
//
// A count expires `duration_s` after its last failure (SPEC §10.5), so failures below the limit
// neither add up forever nor keep a row alive forever: Forgotten() says when a row can go.
#pragma once

#include <cstdint>

namespace authgate {

struct LockoutPolicy {
  int max_failed_attempts = 5;
  int64_t duration_s = 600;
  // SPEC §10.3: a right password with a wrong otp this many times since the last successful
  // login holds the account until an operator unlocks it (0: never).
  int otp_failures_before_hold = 20;
};

struct AttemptState {
  int count = 0;
  int64_t locked_until = 0;  // unix seconds; 0 = not locked
  int64_t last_failure_at = 0;  // unix seconds of the last failure or reservation
  friend bool operator==(const AttemptState&, const AttemptState&) = default;
};

// kHeld: the account holds (SPEC §10.3); decided by the store, never by AdmitAttempt.
enum class Admission { kProceed, kLocked, kHeld };

struct AdmissionResult {
  Admission admission;
  AttemptState next;
};

bool IsLocked(const AttemptState& state, int64_t now);
// Decides whether an attempt may check credentials and reserves its unit when it may.
AdmissionResult AdmitAttempt(const AttemptState& state, int64_t now, const LockoutPolicy& policy);
// The admitted attempt failed: its unit stays counted; the lock starts at the limit.
AttemptState AfterFailure(const AttemptState& state, int64_t now, const LockoutPolicy& policy);
// The admitted attempt proved the credentials: count and lock are cleared.
AttemptState AfterSuccess();
// SPEC §10.3: the count of wrong otps after a right password, one more of them later; the
// account holds when it reaches the limit (never with a limit of 0, which counts nothing).
struct HoldStep {
  int failures = 0;
  bool held = false;
};
HoldStep AfterOtpFailure(int failures, const LockoutPolicy& policy);
// True when `state` no longer counts at `now` (no lock in force, count expired): its row can be
// deleted. The store's prune statement says the same in SQL.
bool Forgotten(const AttemptState& state, int64_t now, const LockoutPolicy& policy);

}  // namespace authgate
