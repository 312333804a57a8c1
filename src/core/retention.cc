#include "core/retention.h"

namespace authgate {

PruneHorizons PruneHorizonsAt(int64_t now, int64_t access_ttl_s, const LockoutPolicy& lockout) {
  PruneHorizons horizons;
  horizons.token_expired_by = now;
  horizons.token_created_by = now - access_ttl_s;
  horizons.otp_step_used_before = now - kUsedOtpStepRetentionS;
  horizons.change_before = now - kChangeRetentionS;
  horizons.lock_ended_by = now;
  horizons.last_failure_by = now - lockout.duration_s;
  return horizons;
}

}  // namespace authgate
