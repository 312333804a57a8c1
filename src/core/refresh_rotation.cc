#include "core/refresh_rotation.h"

namespace authgate {

namespace {

bool IsReplay(const RotationFacts& facts, int64_t now, int64_t reuse_window_s) {
  return reuse_window_s > 0 && facts.successor_current && now >= facts.rotated_at &&
         now - facts.rotated_at <= reuse_window_s;
}

}  // namespace

RotationVerdict DecideRotation(const RotationFacts& facts, int64_t now, int64_t reuse_window_s) {
  if (facts.session_revoked) return RotationVerdict::kSessionRevoked;
  if (facts.already_rotated) {
    if (!IsReplay(facts, now, reuse_window_s)) return RotationVerdict::kReuseDetected;
    if (facts.status != AccountStatus::kActive) return RotationVerdict::kAccountBlocked;
    return RotationVerdict::kReplay;
  }
  if (facts.expires_at <= now) return RotationVerdict::kExpired;
  if (facts.status != AccountStatus::kActive) return RotationVerdict::kAccountBlocked;
  return RotationVerdict::kRotate;
}

}  // namespace authgate
