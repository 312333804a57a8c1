#include "core/log_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace authgate {
namespace {

constexpr int64_t kStart = 1'700'000'000'000;

TEST(LogLimiterTest, AThousandFailuresInASecondWriteOneLineAndTheNextSaysHowManyWereHeldBack) {
  LogLimiter limiter;
  int lines = 0;
  for (int i = 0; i < 1000; ++i) {
    std::optional<uint64_t> admitted = limiter.Admit("store login SQLITE_FULL", kStart + i);
    if (admitted) {
      ++lines;
      EXPECT_EQ(*admitted, 0u);
    }
  }
  EXPECT_EQ(lines, 1);
  EXPECT_EQ(limiter.Admit("store login SQLITE_FULL", kStart + 1000), std::optional<uint64_t>(999));
  EXPECT_EQ(limiter.Admit("store login SQLITE_FULL", kStart + 1999), std::nullopt);
  EXPECT_EQ(limiter.Admit("store login SQLITE_FULL", kStart + 2000), std::optional<uint64_t>(1));
}

TEST(LogLimiterTest, AFloodOverSeveralSecondsWritesOneLinePerSecond) {
  LogLimiter limiter;
  uint64_t written = 0;
  uint64_t held_back = 0;
  for (int i = 0; i < 5000; ++i) {
    if (std::optional<uint64_t> admitted = limiter.Admit("key", kStart + i)) {
      ++written;
      held_back += *admitted;
    }
  }
  EXPECT_EQ(written, 5u);
  EXPECT_EQ(held_back, 4u * 999u);  // the last second's 999 wait for the next line
}

TEST(LogLimiterTest, EachKeyHasItsOwnSecond) {
  LogLimiter limiter;
  EXPECT_EQ(limiter.Admit("login SQLSTATE 58030", kStart), std::optional<uint64_t>(0));
  EXPECT_EQ(limiter.Admit("login SQLSTATE 58030", kStart + 10), std::nullopt);
  EXPECT_EQ(limiter.Admit("login SQLSTATE 57P01", kStart + 10), std::optional<uint64_t>(0));
  EXPECT_EQ(limiter.Admit("refresh SQLSTATE 58030", kStart + 10), std::optional<uint64_t>(0));
}

TEST(LogLimiterTest, AClockThatWentBackLetsTheLineThrough) {
  LogLimiter limiter;
  EXPECT_TRUE(limiter.Admit("key", kStart).has_value());
  EXPECT_FALSE(limiter.Admit("key", kStart + 500).has_value());
  EXPECT_EQ(limiter.Admit("key", kStart - 60'000), std::optional<uint64_t>(1));
  EXPECT_FALSE(limiter.Admit("key", kStart - 59'500).has_value());
}

TEST(LogLimiterTest, KeysBeyondTheLimitShareOneLinePerInterval) {
  LogLimiter limiter(1000, 2);
  EXPECT_TRUE(limiter.Admit("a", kStart).has_value());
  EXPECT_TRUE(limiter.Admit("b", kStart).has_value());
  EXPECT_EQ(limiter.Admit("c", kStart), std::optional<uint64_t>(0));
  EXPECT_EQ(limiter.Admit("d", kStart + 1), std::nullopt);
  EXPECT_EQ(limiter.Admit("e", kStart + 2), std::nullopt);
  EXPECT_EQ(limiter.Admit("f", kStart + 1000), std::optional<uint64_t>(2));
  EXPECT_EQ(limiter.Admit("a", kStart + 1), std::nullopt);  // remembered keys keep their own
}

TEST(LogLimiterTest, ConcurrentFailuresWriteOneLineAndLoseNoCount) {
  LogLimiter limiter;
  std::atomic<int> written{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.Admit("key", kStart + 500)) written.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(written.load(), 1);
  EXPECT_EQ(limiter.Admit("key", kStart + 1500), std::optional<uint64_t>(7999));
}

}  // namespace
}  // namespace authgate
