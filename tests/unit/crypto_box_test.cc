#include "core/crypto_box.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace authgate {
namespace {

TEST(CryptoBoxTest, SealsAndOpensBoundToAssociatedData) {
  ASSERT_TRUE(InitCrypto());
  CryptoBox box(RandomSecret(kMasterKeyBytes));
  SecretBytes secret(std::string_view("totp secret bytes"));
  std::string sealed = box.Seal(secret, "totp:alice");
  EXPECT_EQ(sealed.find("totp secret bytes"), std::string::npos);
  Result<SecretBytes> opened = box.Open(sealed, "totp:alice");
  ASSERT_TRUE(opened.ok());
  EXPECT_TRUE(opened->Equals(secret));
  EXPECT_FALSE(box.Open(sealed, "totp:bob").ok());  // moved to another record
  std::string tampered = sealed;
  tampered.back() ^= 1;
  EXPECT_FALSE(box.Open(tampered, "totp:alice").ok());
  EXPECT_FALSE(box.Open(sealed.substr(0, 10), "totp:alice").ok());
  CryptoBox other(RandomSecret(kMasterKeyBytes));
  EXPECT_FALSE(other.Open(sealed, "totp:alice").ok());
  EXPECT_NE(box.Seal(secret, "totp:alice"), sealed);  // random nonce
}

}  // namespace
}  // namespace authgate
