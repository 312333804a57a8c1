// Prune horizons (src/core/retention.h): what the store's DELETE statements compare rows with.
#include "core/retention.h"

#include <gtest/gtest.h>

namespace authgate {
namespace {

constexpr int64_t kNow = 1700000000;
constexpr LockoutPolicy kPolicy{5, 600};

// The predicate of the store's login_attempts DELETE, spelled here as the SQL spells it.
bool PrunedBySql(const AttemptState& state, const PruneHorizons& h) {
  return (state.locked_until != 0 && state.locked_until <= h.lock_ended_by) ||
         (state.locked_until == 0 && state.last_failure_at <= h.last_failure_by);
}

TEST(RetentionTest, AttemptRowsGoExactlyWhenLockoutForgetsThem) {
  const PruneHorizons h = PruneHorizonsAt(kNow, 100, kPolicy);
  for (int64_t locked_until : {int64_t{0}, kNow - 1, kNow, kNow + 1}) {
    for (int64_t last_failure : {int64_t{0}, kNow - 601, kNow - 600, kNow - 599, kNow}) {
      AttemptState state{3, locked_until, last_failure};
      EXPECT_EQ(PrunedBySql(state, h), Forgotten(state, kNow, kPolicy))
          << locked_until << " " << last_failure;
    }
  }
}

TEST(RetentionTest, TokensOutliveTheAccessTokenIssuedWithThem) {
  const PruneHorizons h = PruneHorizonsAt(kNow, 100, kPolicy);
  EXPECT_EQ(h.token_expired_by, kNow);
  EXPECT_EQ(h.token_created_by, kNow - 100);
}

TEST(RetentionTest, OtpStepsAndChangesAreKeptAnHour) {
  const PruneHorizons h = PruneHorizonsAt(kNow, 100, kPolicy);
  EXPECT_EQ(h.otp_step_used_before, kNow - 3600);
  EXPECT_EQ(h.change_before, kNow - 3600);
}

}  // namespace
}  // namespace authgate
