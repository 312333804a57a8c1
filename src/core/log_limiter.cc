#include "core/log_limiter.h"

namespace authgate {
namespace {

// The key that keys beyond max_keys share.
constexpr std::string_view kOverflowKey = "\x01overflow";

}  // namespace

LogLimiter::LogLimiter(int64_t interval_ms, size_t max_keys)
    : interval_ms_(interval_ms), max_keys_(max_keys) {}

std::optional<uint64_t> LogLimiter::Admit(std::string_view key, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end() && entries_.size() >= max_keys_) it = entries_.find(kOverflowKey);
  if (it == entries_.end()) {
    const bool full = entries_.size() >= max_keys_;
    entries_.emplace(full ? std::string(kOverflowKey) : std::string(key), Entry{now_ms, 0});
    return 0;
  }
  Entry& entry = it->second;
  const int64_t since = now_ms - entry.last_written_ms;
  if (since >= 0 && since < interval_ms_) {
    ++entry.held_back;
    return std::nullopt;
  }
  const uint64_t held_back = entry.held_back;
  entry = Entry{now_ms, 0};
  return held_back;
}

}  // namespace authgate
