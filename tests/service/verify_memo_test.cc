// VerifyMemo (src/service/verify_memo.h): entries live exactly as long as their generation.
#include "service/verify_memo.h"

#include <gtest/gtest.h>

#include "core/random.h"

namespace authgate {
namespace {

const bool crypto_ready = InitCrypto();

VerifyMemo::Entry EntryFor(int64_t user_id) {
  VerifyMemo::Entry entry;
  entry.user_id = user_id;
  entry.session_id = "s" + std::to_string(user_id);
  entry.user = std::make_shared<CachedUser>();
  return entry;
}

TEST(VerifyMemo, FindsOnlyTheExactTokenItWasGiven) {
  ASSERT_TRUE(crypto_ready);
  VerifyMemo memo;
  memo.Sync(1);
  memo.Put("token-a", EntryFor(7), 1);
  ASSERT_NE(memo.Find("token-a"), nullptr);
  EXPECT_EQ(memo.Find("token-a")->user_id, 7);
  EXPECT_EQ(memo.Find("token-b"), nullptr);
  EXPECT_EQ(memo.Find("token-a "), nullptr);
  EXPECT_EQ(memo.Find("token-"), nullptr);
}

TEST(VerifyMemo, ANewGenerationForgetsEverything) {
  VerifyMemo memo;
  memo.Sync(3);
  memo.Put("a", EntryFor(1), 3);
  memo.Sync(3);
  EXPECT_NE(memo.Find("a"), nullptr);
  memo.Sync(4);
  EXPECT_EQ(memo.Find("a"), nullptr);
  EXPECT_EQ(memo.size(), 0u);
}

TEST(VerifyMemo, AnEntryMadeUnderAnOlderGenerationIsNotKept) {
  VerifyMemo memo;
  memo.Sync(5);
  memo.Put("stale", EntryFor(1), 4);  // an invalidation happened during its verification
  EXPECT_EQ(memo.Find("stale"), nullptr);
  memo.Put("newer", EntryFor(2), 6);  // made after another thread's invalidation: memo moves on
  EXPECT_NE(memo.Find("newer"), nullptr);
  memo.Sync(6);
  EXPECT_NE(memo.Find("newer"), nullptr);
}

TEST(VerifyMemo, Bounded) {
  VerifyMemo memo(3);
  memo.Sync(1);
  for (int i = 0; i < 10; ++i) {
    memo.Put("t" + std::to_string(i), EntryFor(i), 1);
    EXPECT_LE(memo.size(), 3u);
  }
  EXPECT_NE(memo.Find("t9"), nullptr);
}

}  // namespace
}  // namespace authgate
