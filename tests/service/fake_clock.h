// FakeClock: a Clock the test moves by hand. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.h"

namespace authgate {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_s) : now_ms_(now_s * 1000) {}
  int64_t NowSeconds() const override { return now_ms_.load() / 1000; }
  int64_t NowMillis() const override { return now_ms_.load(); }
  void Advance(int64_t seconds) { now_ms_.fetch_add(seconds * 1000); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace authgate
