#include "service/failure_log.h"

#include <spdlog/spdlog.h>

namespace authgate {
namespace {

std::string OneLine(std::string_view text) {
  std::string line(text);
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return line;
}

const Clock& WallClock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace

FailureLog::FailureLog(std::string subject, spdlog::level::level_enum level, const Clock& clock)
    : subject_(std::move(subject)), level_(level), clock_(clock) {}

FailureLog::FailureLog(std::string subject, spdlog::level::level_enum level)
    : FailureLog(std::move(subject), level, WallClock()) {}

void FailureLog::Write(std::string_view operation, std::string_view cause,
                       std::string_view message) {
  if (!spdlog::should_log(level_)) return;
  std::string key;
  key.append(operation).append(1, '\0').append(cause);
  std::optional<uint64_t> suppressed = limiter_.Admit(key, clock_.NowMillis());
  if (!suppressed) return;
  spdlog::log(level_, "{} failure: op=\"{}\" cause=\"{}\" suppressed={}: {}", subject_,
              OneLine(operation), OneLine(cause), *suppressed, OneLine(message));
}

void FailureLog::Write(std::string_view operation, const Error& error) {
  Write(operation, error.cause.empty() ? ErrorCodeName(error.code) : error.cause, error.message);
}

}  // namespace authgate
