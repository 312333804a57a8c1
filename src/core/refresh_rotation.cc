#include "core/refresh_rotation.h"

namespace authgate {

RotationVerdict DecideRotation(const RotationFacts& facts, int64_t now) {
  if (facts.session_revoked) return RotationVerdict::kSessionRevoked;
  if (facts.already_rotated) return RotationVerdict::kReuseDetected;
  if (facts.expires_at <= now) return RotationVerdict::kExpired;
  if (facts.status != AccountStatus::kActive) return RotationVerdict::kAccountBlocked;
  return RotationVerdict::kRotate;
}

}  // namespace authgate
