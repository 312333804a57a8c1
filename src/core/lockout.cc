#include "core/lockout.h"

namespace authgate {

bool IsLocked(const AttemptState& state, int64_t now) {
  return state.locked_until != 0 && now < state.locked_until;
}

AdmissionResult AdmitAttempt(const AttemptState& state, int64_t now, const LockoutPolicy& policy) {
  if (IsLocked(state, now)) return {Admission::kLocked, state};
  AttemptState current = state;
  if (current.locked_until != 0) current = AttemptState{};  // the lock has expired
  if (current.count >= policy.max_failed_attempts) {
    // Every unit is reserved by attempts in flight (or lost to a crash): lock now, so the
    // state heals by itself after the lock's duration.
    current.locked_until = now + policy.duration_s;
    return {Admission::kLocked, current};
  }
  current.count += 1;
  return {Admission::kProceed, current};
}

AttemptState AfterFailure(const AttemptState& state, int64_t now, const LockoutPolicy& policy) {
  AttemptState next = state;
  if (next.count < 1) next.count = 1;
  if (next.count >= policy.max_failed_attempts && !IsLocked(next, now)) {
    next.locked_until = now + policy.duration_s;
  }
  return next;
}

AttemptState AfterSuccess() { return AttemptState{}; }

}  // namespace authgate
