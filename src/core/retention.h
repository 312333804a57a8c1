// What the store's Prune may delete at `now`, as horizons (unix seconds) computed by one pure
// function; the store's DELETE statements compare rows with them and decide nothing else. Any
// thread.
//
// - A refresh token goes once it has expired *and* the access token issued with it (created at
//   the same time, `access_ttl_s` long) has expired too: until then a verify still needs its
//   session. A session goes with its last token.
// - A used login otp step goes after kUsedOtpStepRetentionS: far beyond any accepted TOTP window,
//   so a step can never be accepted twice.
// - A change-log entry goes after kChangeRetentionS: far beyond any instance's poll interval.
// - A login-attempts row goes when core/lockout's Forgotten() says so: a lock that ended, or a
//   count whose last failure is `duration_s` old.
#pragma once

#include <cstdint>

#include "core/lockout.h"

namespace authgate {

inline constexpr int64_t kUsedOtpStepRetentionS = 3600;
inline constexpr int64_t kChangeRetentionS = 3600;

struct PruneHorizons {
  int64_t token_expired_by = 0;      // expires_at <= this ...
  int64_t token_created_by = 0;      // ... and created_at <= this: the token can go
  int64_t otp_step_used_before = 0;  // used_at < this
  int64_t change_before = 0;         // at < this
  int64_t lock_ended_by = 0;         // locked_until != 0 and locked_until <= this
  int64_t last_failure_by = 0;       // locked_until = 0 and last_failure_at <= this
};

PruneHorizons PruneHorizonsAt(int64_t now, int64_t access_ttl_s, const LockoutPolicy& lockout);

}  // namespace authgate
