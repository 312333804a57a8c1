// The refresh rotation rule (src/core/refresh_rotation.h): every verdict, and the order in which
// the checks apply when several hold at once.
#include "core/refresh_rotation.h"

#include <gtest/gtest.h>

namespace authgate {
namespace {

constexpr int64_t kNow = 1700000000;

RotationFacts Current() { return RotationFacts{kNow + 100, false, false, AccountStatus::kActive}; }

TEST(RefreshRotationTest, ACurrentTokenOfALiveSessionRotates) {
  EXPECT_EQ(DecideRotation(Current(), kNow), RotationVerdict::kRotate);
}

TEST(RefreshRotationTest, EachRefusal) {
  RotationFacts expired = Current();
  expired.expires_at = kNow;  // expiry is inclusive
  EXPECT_EQ(DecideRotation(expired, kNow), RotationVerdict::kExpired);
  RotationFacts blocked = Current();
  blocked.status = AccountStatus::kSuppressed;
  EXPECT_EQ(DecideRotation(blocked, kNow), RotationVerdict::kAccountBlocked);
  blocked.status = AccountStatus::kUnverified;
  EXPECT_EQ(DecideRotation(blocked, kNow), RotationVerdict::kAccountBlocked);
  RotationFacts reused = Current();
  reused.already_rotated = true;
  EXPECT_EQ(DecideRotation(reused, kNow), RotationVerdict::kReuseDetected);
  RotationFacts revoked = Current();
  revoked.session_revoked = true;
  EXPECT_EQ(DecideRotation(revoked, kNow), RotationVerdict::kSessionRevoked);
}

// A reused token revokes its session even once expired or with the account blocked: a thief
// replaying an old token must not learn less than the owner's session loses.
TEST(RefreshRotationTest, ReuseWinsOverExpiryAndAccountStatus) {
  RotationFacts facts = Current();
  facts.already_rotated = true;
  facts.expires_at = kNow - 1;
  facts.status = AccountStatus::kSuppressed;
  EXPECT_EQ(DecideRotation(facts, kNow), RotationVerdict::kReuseDetected);
}

// A revoked session has nothing left to revoke: the answer is "revoked", whatever else holds.
TEST(RefreshRotationTest, ARevokedSessionAnswersFirst) {
  RotationFacts facts = Current();
  facts.session_revoked = true;
  facts.already_rotated = true;
  facts.expires_at = kNow - 1;
  EXPECT_EQ(DecideRotation(facts, kNow), RotationVerdict::kSessionRevoked);
}

TEST(RefreshRotationTest, ExpiryWinsOverAccountStatus) {
  RotationFacts facts = Current();
  facts.expires_at = kNow - 1;
  facts.status = AccountStatus::kSuppressed;
  EXPECT_EQ(DecideRotation(facts, kNow), RotationVerdict::kExpired);
}

}  // namespace
}  // namespace authgate
