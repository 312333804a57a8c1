// The refresh rotation rule (src/core/refresh_rotation.h): every verdict, and the order in which
// the checks apply when several hold at once.
#include "core/refresh_rotation.h"

#include <gtest/gtest.h>

namespace authgate {
namespace {

constexpr int64_t kNow = 1700000000;

RotationFacts Current() {
  RotationFacts facts;
  facts.expires_at = kNow + 100;
  return facts;
}

TEST(RefreshRotationTest, ACurrentTokenOfALiveSessionRotates) {
  EXPECT_EQ(DecideRotation(Current(), kNow, 0), RotationVerdict::kRotate);
}

TEST(RefreshRotationTest, EachRefusal) {
  RotationFacts expired = Current();
  expired.expires_at = kNow;  // expiry is inclusive
  EXPECT_EQ(DecideRotation(expired, kNow, 0), RotationVerdict::kExpired);
  RotationFacts blocked = Current();
  blocked.status = AccountStatus::kSuppressed;
  EXPECT_EQ(DecideRotation(blocked, kNow, 0), RotationVerdict::kAccountBlocked);
  blocked.status = AccountStatus::kUnverified;
  EXPECT_EQ(DecideRotation(blocked, kNow, 0), RotationVerdict::kAccountBlocked);
  RotationFacts reused = Current();
  reused.already_rotated = true;
  EXPECT_EQ(DecideRotation(reused, kNow, 0), RotationVerdict::kReuseDetected);
  RotationFacts revoked = Current();
  revoked.session_revoked = true;
  EXPECT_EQ(DecideRotation(revoked, kNow, 0), RotationVerdict::kSessionRevoked);
}

// A reused token revokes its session even once expired or with the account blocked: a thief
// replaying an old token must not learn less than the owner's session loses.
TEST(RefreshRotationTest, ReuseWinsOverExpiryAndAccountStatus) {
  RotationFacts facts = Current();
  facts.already_rotated = true;
  facts.expires_at = kNow - 1;
  facts.status = AccountStatus::kSuppressed;
  EXPECT_EQ(DecideRotation(facts, kNow, 0), RotationVerdict::kReuseDetected);
}

// A revoked session has nothing left to revoke: the answer is "revoked", whatever else holds.
TEST(RefreshRotationTest, ARevokedSessionAnswersFirst) {
  RotationFacts facts = Current();
  facts.session_revoked = true;
  facts.already_rotated = true;
  facts.expires_at = kNow - 1;
  EXPECT_EQ(DecideRotation(facts, kNow, 0), RotationVerdict::kSessionRevoked);
}

TEST(RefreshRotationTest, ExpiryWinsOverAccountStatus) {
  RotationFacts facts = Current();
  facts.expires_at = kNow - 1;
  facts.status = AccountStatus::kSuppressed;
  EXPECT_EQ(DecideRotation(facts, kNow, 0), RotationVerdict::kExpired);
}

// SPEC §10.2: the token rotated last, again within the window, is a replay; anything else that
// was rotated is still reuse.
RotationFacts RotatedAt(int64_t rotated_at) {
  RotationFacts facts = Current();
  facts.already_rotated = true;
  facts.rotated_at = rotated_at;
  facts.successor_current = true;
  return facts;
}

TEST(RefreshRotationTest, TheLastRotatedTokenWithinTheWindowIsAReplay) {
  EXPECT_EQ(DecideRotation(RotatedAt(kNow), kNow, 5), RotationVerdict::kReplay);
  EXPECT_EQ(DecideRotation(RotatedAt(kNow - 5), kNow, 5), RotationVerdict::kReplay);
  EXPECT_EQ(DecideRotation(RotatedAt(kNow - 6), kNow, 5), RotationVerdict::kReuseDetected);
  EXPECT_EQ(DecideRotation(RotatedAt(kNow), kNow, 0), RotationVerdict::kReuseDetected);
  RotationFacts older = RotatedAt(kNow);
  older.successor_current = false;  // two generations old
  EXPECT_EQ(DecideRotation(older, kNow, 5), RotationVerdict::kReuseDetected);
  RotationFacts blocked = RotatedAt(kNow);
  blocked.status = AccountStatus::kSuppressed;  // told, nothing revoked, no tokens
  EXPECT_EQ(DecideRotation(blocked, kNow, 5), RotationVerdict::kAccountBlocked);
  RotationFacts revoked = RotatedAt(kNow);
  revoked.session_revoked = true;
  EXPECT_EQ(DecideRotation(revoked, kNow, 5), RotationVerdict::kSessionRevoked);
  RotationFacts expired = RotatedAt(kNow);
  expired.expires_at = kNow - 1;  // the successor is what counts, and it is current
  EXPECT_EQ(DecideRotation(expired, kNow, 5), RotationVerdict::kReplay);
}

}  // namespace
}  // namespace authgate
