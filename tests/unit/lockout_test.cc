#include "core/lockout.h"

#include <gtest/gtest.h>

namespace authgate {
namespace {

constexpr LockoutPolicy kPolicy{5, 600};

// Plays one sequential attempt: admit, then record its result. Returns the admission.
Admission Attempt(AttemptState& state, int64_t now, bool success) {
  AdmissionResult admitted = AdmitAttempt(state, now, kPolicy);
  state = admitted.next;
  if (admitted.admission == Admission::kProceed) {
    state = success ? AfterSuccess() : AfterFailure(state, now, kPolicy);
  }
  return admitted.admission;
}

TEST(LockoutTest, LocksAfterMaxConsecutiveFailures) {
  AttemptState state;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Attempt(state, 1000, false), Admission::kProceed) << i;
  }
  EXPECT_TRUE(IsLocked(state, 1000));
  EXPECT_EQ(state.locked_until, 1600);
  EXPECT_EQ(Attempt(state, 1001, true), Admission::kLocked);  // even correct credentials
}

TEST(LockoutTest, LockExpiresAndCountStartsAgain) {
  AttemptState state;
  for (int i = 0; i < 5; ++i) Attempt(state, 1000, false);
  EXPECT_EQ(Attempt(state, 1599, false), Admission::kLocked);
  EXPECT_FALSE(IsLocked(state, 1600));
  EXPECT_EQ(Attempt(state, 1600, false), Admission::kProceed);
  EXPECT_EQ(state.count, 1);
  EXPECT_FALSE(IsLocked(state, 1600));
}

TEST(LockoutTest, SuccessResetsTheCount) {
  AttemptState state;
  for (int i = 0; i < 4; ++i) Attempt(state, 1000, false);
  EXPECT_EQ(Attempt(state, 1000, true), Admission::kProceed);
  EXPECT_EQ(state.count, 0);
  for (int i = 0; i < 4; ++i) Attempt(state, 1000, false);
  EXPECT_FALSE(IsLocked(state, 1000));
}

TEST(LockoutTest, ConcurrentAttemptsReserveUnitsSoAtMostMaxProceed) {
  AttemptState state;
  int proceeded = 0;
  // 30 attempts admitted before any finishes: only 5 may check credentials.
  for (int i = 0; i < 30; ++i) {
    AdmissionResult admitted = AdmitAttempt(state, 1000, kPolicy);
    state = admitted.next;
    if (admitted.admission == Admission::kProceed) ++proceeded;
  }
  EXPECT_EQ(proceeded, 5);
  EXPECT_TRUE(IsLocked(state, 1000));
  for (int i = 0; i < 5; ++i) state = AfterFailure(state, 1000, kPolicy);
  EXPECT_TRUE(IsLocked(state, 1000));
}

TEST(LockoutTest, AnAttemptLostToACrashHealsAfterTheDuration) {
  AttemptState state{5, 0, 990};  // five units reserved at 990, none ever finished
  AdmissionResult admitted = AdmitAttempt(state, 1000, kPolicy);
  EXPECT_EQ(admitted.admission, Admission::kLocked);
  EXPECT_EQ(admitted.next.locked_until, 1600);
  EXPECT_EQ(AdmitAttempt(admitted.next, 1600, kPolicy).admission, Admission::kProceed);
}

// SPEC §10.5: a count below the limit expires duration_s after its last failure.
TEST(LockoutTest, FailureCountsExpireAfterTheDuration) {
  AttemptState state;
  for (int64_t t = 1000; t < 1004; ++t) {
    state = AdmitAttempt(state, t, kPolicy).next;
    state = AfterFailure(state, t, kPolicy);
  }
  EXPECT_EQ(state.count, 4);
  EXPECT_FALSE(Forgotten(state, 1602, kPolicy));
  EXPECT_TRUE(Forgotten(state, 1603, kPolicy));
  AdmissionResult later = AdmitAttempt(state, 1603, kPolicy);
  EXPECT_EQ(later.admission, Admission::kProceed);
  EXPECT_EQ(later.next.count, 1);
  // A lock is forgotten once it has ended, not before.
  AttemptState locked{5, 1600, 1000};
  EXPECT_FALSE(Forgotten(locked, 1599, kPolicy));
  EXPECT_TRUE(Forgotten(locked, 1600, kPolicy));
}

}  // namespace
}  // namespace authgate
