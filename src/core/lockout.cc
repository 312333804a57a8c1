#include "core/lockout.h"

namespace authgate {

bool IsLocked(const AttemptState& state, int64_t now) {
  return state.locked_until != 0 && now < state.locked_until;
}

bool Forgotten(const AttemptState& state, int64_t now, const LockoutPolicy& policy) {
  if (state.locked_until != 0) return !IsLocked(state, now);
  return state.last_failure_at + policy.duration_s <= now;
}

AdmissionResult AdmitAttempt(const AttemptState& state, int64_t now, const LockoutPolicy& policy) {
  if (IsLocked(state, now)) return {Admission::kLocked, state};
  AttemptState current = state;
  if (Forgotten(current, now, policy)) current = AttemptState{};  // lock or count expired
  if (current.count >= policy.max_failed_attempts) {
    // Every unit is reserved by attempts in flight (or lost to a crash): lock now, so the
    // state heals by itself after the lock's duration.
    current.locked_until = now + policy.duration_s;
    return {Admission::kLocked, current};
  }
  current.count += 1;
  current.last_failure_at = now;
  return {Admission::kProceed, current};
}

AttemptState AfterFailure(const AttemptState& state, int64_t now, const LockoutPolicy& policy) {
  AttemptState next = Forgotten(state, now, policy) ? AttemptState{} : state;
  if (next.count < 1) next.count = 1;
  next.last_failure_at = now;
  if (next.count >= policy.max_failed_attempts && !IsLocked(next, now)) {
    next.locked_until = now + policy.duration_s;
  }
  return next;
}

AttemptState AfterSuccess() { return AttemptState{}; }

HoldStep AfterOtpFailure(int failures, const LockoutPolicy& policy) {
  if (policy.otp_failures_before_hold <= 0) return {failures, false};
  const int next = failures + 1;
  return {next, next >= policy.otp_failures_before_hold};
}

}  // namespace authgate
