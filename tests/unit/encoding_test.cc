#include "core/encoding.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace authgate {
namespace {

TEST(EncodingTest, Base64UrlRoundTripsAndIsStrict) {
  ASSERT_TRUE(InitCrypto());
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(*Base64UrlDecode(""), "");
  EXPECT_FALSE(Base64UrlDecode("-_8=").has_value());   // padding
  EXPECT_FALSE(Base64UrlDecode("+/8").has_value());    // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("-_9").has_value());    // non-canonical trailing bits
  EXPECT_FALSE(Base64UrlDecode("a").has_value());      // impossible length
  EXPECT_FALSE(Base64UrlDecode("ab c").has_value());   // whitespace
}

TEST(EncodingTest, Base32MatchesRfc4648AndAcceptsAuthenticatorForms) {
  ASSERT_TRUE(InitCrypto());
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(*Base32Decode("MZXW6YTBOI"), "foobar");
  EXPECT_EQ(*Base32Decode("MZXW6YTBOI======"), "foobar");
  EXPECT_EQ(*Base32Decode("mzxw 6ytb oi"), "foobar");
  EXPECT_EQ(*Base32Decode("JBSWY3DPEHPK3PXP"), "Hello!\xde\xad\xbe\xef");
  EXPECT_FALSE(Base32Decode("").has_value());
  EXPECT_FALSE(Base32Decode("MZXW6YTBO1").has_value());  // '1' is not base32
  EXPECT_FALSE(Base32Decode("M").has_value());
  EXPECT_FALSE(Base32Decode("MZX").has_value());
  EXPECT_FALSE(Base32Decode("MZ=XW").has_value());
}

TEST(EncodingTest, HexAndUri) {
  EXPECT_EQ(HexEncode("\x01\xab"), "01ab");
  EXPECT_EQ(UriEncode("a b/c@d"), "a%20b%2Fc%40d");
}

}  // namespace
}  // namespace authgate
