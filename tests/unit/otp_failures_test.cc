// The request-otp failure window (src/core/otp_failures.h) and the login-name rule
// (src/core/username.h).
#include "core/otp_failures.h"

#include <gtest/gtest.h>

#include "core/username.h"

namespace authgate {
namespace {

constexpr LockoutPolicy kPolicy{5, 600};

TEST(OtpFailuresTest, TheLimitWithinTheWindowRevokes) {
  OtpFailureTimes times;
  for (int i = 0; i < 4; ++i) {
    OtpFailureStep step = AddOtpFailure(times, 1000 + i, kPolicy);
    EXPECT_FALSE(step.revoke) << i;
    times = step.times;
  }
  EXPECT_EQ(RecentOtpFailures(times, 1004, kPolicy), 4);
  EXPECT_TRUE(AddOtpFailure(times, 1004, kPolicy).revoke);
}

TEST(OtpFailuresTest, FailuresOlderThanTheWindowNoLongerCount) {
  OtpFailureTimes times = {1000, 1001, 1002, 1003};
  EXPECT_EQ(RecentOtpFailures(times, 1601, kPolicy), 2);
  OtpFailureStep step = AddOtpFailure(times, 1601, kPolicy);
  EXPECT_FALSE(step.revoke);
  EXPECT_EQ(step.times, (OtpFailureTimes{1002, 1003, 1601}));
}

TEST(OtpFailuresTest, AtMostTheLimitMinusOneTimesAreKept) {
  OtpFailureTimes times;
  for (int i = 0; i < 20; ++i) times = AddOtpFailure(times, 1000, {5, 600}).times;
  EXPECT_EQ(times.size(), 4u);
  EXPECT_TRUE(AddOtpFailure({}, 1000, {1, 600}).revoke);
  EXPECT_TRUE(AddOtpFailure({}, 1000, {1, 600}).times.empty());
}

TEST(OtpFailuresTest, TextRoundTripsAndMalformedTextIsSafe) {
  EXPECT_EQ(FormatOtpFailureTimes({1, 22, 333}), "1,22,333");
  EXPECT_EQ(ParseOtpFailureTimes("1,22,333"), (OtpFailureTimes{1, 22, 333}));
  EXPECT_TRUE(ParseOtpFailureTimes("").empty());
  EXPECT_EQ(ParseOtpFailureTimes("5,x,7"), (OtpFailureTimes{5}));
  EXPECT_EQ(ParseOtpFailureTimes("5,"), (OtpFailureTimes{5}));
}

TEST(UsernameTest, OnlyNamesAnAccountCanHave) {
  EXPECT_TRUE(IsPossibleUsername("alice"));
  EXPECT_TRUE(IsPossibleUsername("A.b_c@d+e-9"));
  EXPECT_TRUE(IsPossibleUsername(std::string(64, 'a')));
  EXPECT_FALSE(IsPossibleUsername(std::string(65, 'a')));
  EXPECT_FALSE(IsPossibleUsername(""));
  EXPECT_FALSE(IsPossibleUsername(std::string("alice\0x", 7)));
  EXPECT_FALSE(IsPossibleUsername("alice "));
  EXPECT_FALSE(IsPossibleUsername("al\tice"));
  EXPECT_FALSE(IsPossibleUsername("ålice"));
  EXPECT_FALSE(IsPossibleUsername("a/b"));
  EXPECT_EQ(UsernameForLog(std::string(16000, 'x')).size(), 64u);
  EXPECT_EQ(UsernameForLog("bob"), "bob");
}

}  // namespace
}  // namespace authgate
