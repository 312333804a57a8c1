// LogLimiter: at most one log line per second per key, so that a failure repeated a thousand
// times a second (a failing disk, a refusing database, a port scanner) writes a handful of lines.
// The key names the cause (an operation and an error code), never the varying text of a message.
// A line let through learns how many lines of its key were held back since the previous one, and
// says so; a count held back is reported by the next line of its key, whenever that comes.
//
// Pure bookkeeping: the caller passes the time and writes the line. Thread-safe (one mutex, held
// only to look up the key).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace authgate {

class LogLimiter {
 public:
  // At most one line per `interval_ms` per key, and at most `max_keys` keys remembered: beyond
  // them, new keys share one line per interval (so unbounded keys cannot grow memory).
  explicit LogLimiter(int64_t interval_ms = 1000, size_t max_keys = 1024);

  // Whether a line of `key` may be written at `now_ms`: if so, how many lines of that key were
  // held back since the last one written; nullopt when this one is held back (and counted). A
  // clock that went backwards lets the line through rather than silencing the key.
  std::optional<uint64_t> Admit(std::string_view key, int64_t now_ms);

 private:
  struct Entry {
    int64_t last_written_ms = 0;
    uint64_t held_back = 0;
  };

  const int64_t interval_ms_;
  const size_t max_keys_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace authgate
