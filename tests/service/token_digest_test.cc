// TokenDigester (src/service/token_digest.h): the same bytes give the same digest under one key;
// anything else, or another key, gives another.
#include "service/token_digest.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace authgate {
namespace {

TEST(TokenDigester, ExactBytesUnderOneKey) {
  ASSERT_TRUE(InitCrypto());
  const TokenDigester first;
  const TokenDigester second;
  const std::string token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl";
  EXPECT_EQ(first(token), first(std::string(token)));
  EXPECT_NE(first(token), first(token + "="));
  EXPECT_NE(first(token), first(token.substr(0, token.size() - 1) + "m"));
  EXPECT_NE(first(token), second(token));  // each digester has its own random key
  EXPECT_EQ(TokenDigester::Hash()(first(token)), TokenDigester::Hash()(first(token)));
}

}  // namespace
}  // namespace authgate
