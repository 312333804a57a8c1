// VerifyCache (src/service/verify_cache.h): its one generation rule, over its three parts.
#include "service/verify_cache.h"

#include <gtest/gtest.h>

#include <thread>

namespace authgate {
namespace {

std::shared_ptr<const VerifiedToken> TokenOf(int64_t user_id, const std::string& session_id) {
  auto token = std::make_shared<VerifiedToken>();
  token->user_id = user_id;
  token->session_id = session_id;
  token->exp = 2'000'000'000;
  return token;
}

VerifyMemo::Entry MemoEntry(int64_t user_id) {
  VerifyMemo::Entry entry;
  entry.user_id = user_id;
  entry.user = std::make_shared<CachedUser>();
  return entry;
}

// Fills each part with token "t" of session "s" under `generation`.
void FillEveryPart(VerifyCache& cache, uint64_t generation) {
  cache.PutToken("t", TokenOf(1, "s"), generation);
  cache.PutSession("s", {1, false, {}}, generation);
  cache.PutMemo("t", MemoEntry(1), generation);
}

// How many parts hold token "t" of session "s".
int PartsHolding(VerifyCache& cache) {
  return (cache.FindToken("t") != nullptr) + cache.FindSession("s").has_value() +
         (cache.FindMemo("t") != nullptr);
}

TEST(VerifyCache, FillsMadeUnderTheCurrentGenerationAreKept) {
  VerifyCache cache;
  FillEveryPart(cache, cache.Generation());
  EXPECT_EQ(PartsHolding(cache), 3);
}

TEST(VerifyCache, AFillRacingAnInvalidationIsNotKept) {
  VerifyCache cache;
  const uint64_t before = cache.Generation();  // read, then the store read takes its time...
  cache.InvalidateSession("another session");  // ...while something changes anywhere
  FillEveryPart(cache, before);
  EXPECT_EQ(PartsHolding(cache), 0);
}

TEST(VerifyCache, AnyInvalidationEmptiesTheMemoButOnlyItsOwnStateEntries) {
  VerifyCache cache;
  const uint64_t generation = cache.Generation();
  cache.PutSession("a", {1, false, {}}, generation);
  cache.PutSession("b", {2, false, {}}, generation);
  cache.PutMemo("token of b", MemoEntry(2), generation);
  cache.InvalidateSession("a");
  EXPECT_FALSE(cache.FindSession("a").has_value());
  EXPECT_TRUE(cache.FindSession("b").has_value());
  EXPECT_EQ(cache.FindMemo("token of b"), nullptr);  // rule 3: any change anywhere
}

TEST(VerifyCache, InvalidatingAUserDropsItsSessions) {
  VerifyCache cache;
  const uint64_t generation = cache.Generation();
  auto user = std::make_shared<CachedUser>();
  user->id = 1;
  cache.PutUser(user, generation);
  cache.PutSession("of 1", {1, false, {}}, generation);
  cache.PutSession("of 2", {2, false, {}}, generation);
  cache.InvalidateUser(1);
  EXPECT_EQ(cache.FindUser(1), nullptr);
  EXPECT_FALSE(cache.FindSession("of 1").has_value());
  EXPECT_TRUE(cache.FindSession("of 2").has_value());
}

TEST(VerifyCache, ForgettingTheKeysEmptiesEveryPart) {
  VerifyCache cache;
  FillEveryPart(cache, cache.Generation());
  cache.ForgetKeys();
  EXPECT_EQ(PartsHolding(cache), 0);
}

TEST(VerifyCache, TheMemoIsThisThreadsOnly) {
  VerifyCache cache;
  cache.PutMemo("t", MemoEntry(1), cache.Generation());
  bool found_elsewhere = true;
  std::thread([&] { found_elsewhere = cache.FindMemo("t") != nullptr; }).join();
  EXPECT_FALSE(found_elsewhere);
  EXPECT_NE(cache.FindMemo("t"), nullptr);
}

TEST(VerifyCache, TwoCachesDoNotShareAThreadsMemo) {
  VerifyCache first;
  VerifyCache second;
  first.PutMemo("t", MemoEntry(1), first.Generation());
  EXPECT_EQ(second.FindMemo("t"), nullptr);
}

}  // namespace
}  // namespace authgate
