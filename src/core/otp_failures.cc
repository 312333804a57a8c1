#include "core/otp_failures.h"

#include <algorithm>
#include <charconv>

namespace authgate {

OtpFailureTimes ParseOtpFailureTimes(std::string_view text) {
  OtpFailureTimes times;
  while (!text.empty()) {
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc()) break;
    times.push_back(value);
    text.remove_prefix(static_cast<size_t>(end - text.data()));
    if (text.empty() || text.front() != ',') break;
    text.remove_prefix(1);
  }
  return times;
}

std::string FormatOtpFailureTimes(const OtpFailureTimes& times) {
  std::string text;
  for (int64_t time : times) {
    if (!text.empty()) text += ',';
    text += std::to_string(time);
  }
  return text;
}

int RecentOtpFailures(const OtpFailureTimes& times, int64_t now, const LockoutPolicy& policy) {
  return static_cast<int>(std::count_if(times.begin(), times.end(), [&](int64_t time) {
    return time > now - policy.duration_s;
  }));
}

OtpFailureStep AddOtpFailure(const OtpFailureTimes& times, int64_t now,
                             const LockoutPolicy& policy) {
  OtpFailureStep step;
  for (int64_t time : times) {
    if (time > now - policy.duration_s) step.times.push_back(time);
  }
  step.times.push_back(now);
  step.revoke = static_cast<int64_t>(step.times.size()) >= policy.max_failed_attempts;
  const size_t keep = static_cast<size_t>(std::max(policy.max_failed_attempts - 1, 0));
  if (step.times.size() > keep) {
    step.times.erase(step.times.begin(), step.times.end() - static_cast<std::ptrdiff_t>(keep));
  }
  return step;
}

}  // namespace authgate
