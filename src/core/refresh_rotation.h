// The refresh-token rotation rule of SPEC.md §3 as a pure function of what the store found for
// the presented token. The store reads those facts under its row locks, calls DecideRotation and
// executes the verdict's effects inside the same transaction, which is what makes one rotation
// win however many race. Any thread.
//
// The order of the checks is the rule: a revoked session answers first (nothing to do); a token
// presented again after its rotation is a theft signal and revokes the whole session, even when
// the token has expired meanwhile or the account is blocked; only then expiry and account status.
// With a replay window (SPEC §10.2, W > 0) the token rotated last, presented again within W
// seconds of its rotation while its successor is still current, is a replay, not a theft: the
// store changes nothing and the service repeats the first answer.
#pragma once

#include <cstdint>

#include "core/codes.h"

namespace authgate {

// What the store knows about a presented token that exists (an unknown token is decided before).
struct RotationFacts {
  int64_t expires_at = 0;
  bool already_rotated = false;
  int64_t rotated_at = 0;         // when it was rotated (already_rotated)
  bool successor_current = false; // the token it was rotated to has not been rotated itself
  bool session_revoked = false;
  AccountStatus status = AccountStatus::kActive;
};

enum class RotationVerdict {
  kRotate,          // effects: mark the token rotated (when, and to what), store its successor
  kReplay,          // no effect: the first rotation's answer is given again
  kReuseDetected,   // effect: revoke the session
  kSessionRevoked,  // no effect
  kExpired,         // no effect
  kAccountBlocked,  // no effect
};

// `reuse_window_s`: tokens.refresh_reuse_window_s (0: no replay window).
RotationVerdict DecideRotation(const RotationFacts& facts, int64_t now, int64_t reuse_window_s);

}  // namespace authgate
