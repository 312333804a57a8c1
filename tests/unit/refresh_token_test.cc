// core/refresh_token.h: the refresh token's wire form.
#include "core/refresh_token.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace authgate {
namespace {

TEST(RefreshTokenTest, JoinAndSplitAreInverse) {
  const std::string token = JoinRefreshToken(42, "c2VjcmV0");
  EXPECT_EQ(token, "42.c2VjcmV0");
  std::optional<RefreshTokenParts> parts = SplitRefreshToken(token);
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->id, 42);
  EXPECT_EQ(parts->secret, "c2VjcmV0");
  const std::string largest = JoinRefreshToken(INT64_MAX, "s");
  EXPECT_EQ(SplitRefreshToken(largest)->id, INT64_MAX);
}

TEST(RefreshTokenTest, ATokenIssuedBeforeIdsIsItsSecret) {
  EXPECT_EQ(JoinRefreshToken(0, "bare-secret_"), "bare-secret_");
  std::optional<RefreshTokenParts> parts = SplitRefreshToken("bare-secret_");
  ASSERT_TRUE(parts);
  EXPECT_EQ(parts->id, 0);
  EXPECT_EQ(parts->secret, "bare-secret_");
}

// Every spelling but the canonical one is refused: two spellings of one id would derive two
// different successors, and a replay (SPEC §10.2) must repeat the first answer.
TEST(RefreshTokenTest, OnlyTheCanonicalIdIsAccepted) {
  for (const char* token : {"", ".s", "0.s", "07.s", "+7.s", "-7.s", " 7.s", "7 .s", "7.",
                            "7.s.t", "7..s", "x.s", "0x7.s", "9223372036854775808.s",
                            "99999999999999999999.s", "1e3.s"}) {
    EXPECT_FALSE(SplitRefreshToken(token)) << '"' << token << '"';
  }
}

TEST(RefreshTokenTest, ConstantTimeEqualsComparesBytesAndLengths) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

}  // namespace
}  // namespace authgate
