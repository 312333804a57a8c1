#include "core/rate_limit.h"

#include <gtest/gtest.h>

namespace authgate {
namespace {

TEST(RateLimitTest, BurstThenSteadyRate) {
  RateLimitPolicy policy{5, 20};
  TokenBucket bucket;
  int64_t retry = 0;
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(TakeToken(bucket, 1000, policy, &retry)) << i;
  EXPECT_FALSE(TakeToken(bucket, 1000, policy, &retry));
  EXPECT_EQ(retry, 1);
  EXPECT_TRUE(TakeToken(bucket, 1200, policy, &retry));  // 0.2 s refills one token at 5/s
  EXPECT_FALSE(TakeToken(bucket, 1200, policy, &retry));
  EXPECT_TRUE(TakeToken(bucket, 100000, policy, &retry));
}

TEST(RateLimitTest, RetryAfterCoversTheWait) {
  RateLimitPolicy policy{0.25, 1};
  TokenBucket bucket;
  int64_t retry = 0;
  EXPECT_TRUE(TakeToken(bucket, 0, policy, &retry));
  EXPECT_FALSE(TakeToken(bucket, 0, policy, &retry));
  EXPECT_EQ(retry, 4);
}

}  // namespace
}  // namespace authgate
