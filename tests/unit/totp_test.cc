#include "core/totp.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace authgate {
namespace {

class TotpTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto()); }
};

// RFC 4226 Appendix D.
TEST_F(TotpTest, HotpMatchesRfc4226AppendixD) {
  SecretBytes secret(std::string_view("12345678901234567890"));
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t counter = 0; counter < 10; ++counter) {
    EXPECT_EQ(HotpCode(secret, counter), expected[counter]) << "counter " << counter;
  }
}

struct TotpVector {
  int64_t time;
  const char* sha1;
  const char* sha256;
  const char* sha512;
};

// RFC 6238 Appendix B (8 digits, 30 s steps, T0 = 0).
TEST_F(TotpTest, TotpMatchesRfc6238AppendixB) {
  SecretBytes sha1_key(std::string_view("12345678901234567890"));
  SecretBytes sha256_key(std::string_view("12345678901234567890123456789012"));
  SecretBytes sha512_key(
      std::string_view("1234567890123456789012345678901234567890123456789012345678901234"));
  const TotpVector vectors[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  for (const TotpVector& v : vectors) {
    EXPECT_EQ(TotpCode(sha1_key, v.time, 8, OtpHash::kSha1), v.sha1) << v.time;
    EXPECT_EQ(TotpCode(sha256_key, v.time, 8, OtpHash::kSha256), v.sha256) << v.time;
    EXPECT_EQ(TotpCode(sha512_key, v.time, 8, OtpHash::kSha512), v.sha512) << v.time;
  }
}

TEST_F(TotpTest, SixDigitCodeIsTheLastSixOfTheEightDigitOne) {
  SecretBytes secret(std::string_view("12345678901234567890"));
  EXPECT_EQ(TotpCode(secret, 59), "287082");
  EXPECT_EQ(TotpCode(secret, 1111111109), "081804");
}

TEST_F(TotpTest, MatchReturnsTheStepWithinSkew) {
  SecretBytes secret(std::string_view("12345678901234567890"));
  const int64_t now = 1111111111;
  const int64_t step = TotpStep(now);
  EXPECT_EQ(MatchTotp(secret, TotpCode(secret, now), now, 1), step);
  EXPECT_EQ(MatchTotp(secret, TotpCode(secret, now - 30), now, 1), step - 1);
  EXPECT_EQ(MatchTotp(secret, TotpCode(secret, now + 30), now, 1), step + 1);
  EXPECT_EQ(MatchTotp(secret, TotpCode(secret, now - 60), now, 1), std::nullopt);
  EXPECT_EQ(MatchTotp(secret, TotpCode(secret, now + 60), now, 1), std::nullopt);
  EXPECT_EQ(MatchTotp(secret, TotpCode(secret, now - 30), now, 0), std::nullopt);
}

TEST_F(TotpTest, CurrentWindowIsRecomputedWhenTheStepChanges) {
  SecretBytes secret(std::string_view("12345678901234567890"));
  const int64_t now = 1111111111;
  TotpWindow window;  // never computed
  EXPECT_EQ(MatchCurrentTotpWindow(&window, secret, TotpCode(secret, now), now, 1), TotpStep(now));
  EXPECT_EQ(window.step, TotpStep(now));
  // Two steps later the old window no longer holds that code; the new one holds the new code.
  const int64_t later = now + 60;
  EXPECT_EQ(MatchCurrentTotpWindow(&window, secret, TotpCode(secret, now), later, 1),
            std::nullopt);
  EXPECT_EQ(window.step, TotpStep(later));
  EXPECT_EQ(MatchCurrentTotpWindow(&window, secret, TotpCode(secret, later), later, 1),
            TotpStep(later));
}

TEST_F(TotpTest, MalformedCodesNeverMatch) {
  SecretBytes secret(std::string_view("12345678901234567890"));
  const int64_t now = 1111111111;
  std::string code = TotpCode(secret, now);
  for (std::string bad : {std::string(), code.substr(0, 5), code + "0", " " + code.substr(1),
                          std::string("12345a"), std::string("-12345"), code + "\n"}) {
    EXPECT_EQ(MatchTotp(secret, bad, now, 1), std::nullopt) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace authgate
