#include "core/password.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace authgate {
namespace {

constexpr PasswordParams kFast{64, 1, 1};

TEST(PasswordTest, HashesAreArgon2idAndVerify) {
  ASSERT_TRUE(InitCrypto());
  Result<std::string> hash = HashPassword("correct horse", kFast);
  ASSERT_TRUE(hash.ok()) << hash.error();
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=64,t=1,p=1$")) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
  EXPECT_FALSE(VerifyPassword(*hash, "correct horsf"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));
  EXPECT_NE(*HashPassword("correct horse", kFast), *hash);  // salted
}

TEST(PasswordTest, DefaultOwaspParameters) {
  ASSERT_TRUE(InitCrypto());
  Result<std::string> hash = HashPassword("pw", PasswordParams{});
  ASSERT_TRUE(hash.ok());
  EXPECT_TRUE(hash->starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "pw"));
}

TEST(PasswordTest, RehashWhenParametersChange) {
  ASSERT_TRUE(InitCrypto());
  std::string hash = *HashPassword("pw", kFast);
  EXPECT_FALSE(PasswordNeedsRehash(hash, kFast));
  EXPECT_TRUE(PasswordNeedsRehash(hash, PasswordParams{128, 1, 1}));
  EXPECT_TRUE(PasswordNeedsRehash(hash, PasswordParams{64, 2, 1}));
}

TEST(PasswordTest, MalformedHashesNeverVerify) {
  ASSERT_TRUE(InitCrypto());
  EXPECT_FALSE(VerifyPassword("", "pw"));
  EXPECT_FALSE(VerifyPassword("$argon2id$garbage", "pw"));
  EXPECT_FALSE(VerifyPassword(std::string(1000, 'x'), "pw"));
}

TEST(PasswordTest, OnlyOneLaneIsSupported) {
  EXPECT_FALSE(HashPassword("pw", PasswordParams{64, 1, 2}).ok());
}

}  // namespace
}  // namespace authgate
