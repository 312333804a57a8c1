// HOTP (RFC 4226) and TOTP (RFC 6238) codes, computed by liboath.
// MatchTotp compares against every step of the window in constant time and tells which step
// matched, so callers can make a login code single-use (RFC 6238 §5.2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/secret.h"

namespace authgate {

enum class OtpHash { kSha1, kSha256, kSha512 };

constexpr int64_t kTotpStepSeconds = 30;
constexpr int kOtpDigits = 6;

std::string HotpCode(const SecretBytes& secret, uint64_t counter, int digits = kOtpDigits);
std::string TotpCode(const SecretBytes& secret, int64_t unix_time, int digits = kOtpDigits,
                     OtpHash hash = OtpHash::kSha1);

inline int64_t TotpStep(int64_t unix_time) { return unix_time / kTotpStepSeconds; }

// Returns the time step whose code equals `code` within current step ± skew_steps, or nothing.
// A code that is not exactly six ASCII digits never matches.
std::optional<int64_t> MatchTotp(const SecretBytes& secret, std::string_view code,
                                 int64_t unix_time, int skew_steps);

// The same in two halves, so a caller can compute a window once per step and match many codes
// against it: the (step, code) pairs of current step ± skew_steps, and a constant-time match.
struct TotpWindow {
  int64_t step = -1;  // the current step the window was computed for
  std::vector<std::pair<int64_t, std::string>> codes;
};
TotpWindow ComputeTotpWindow(const SecretBytes& secret, int64_t unix_time, int skew_steps);
std::optional<int64_t> MatchTotpWindow(const TotpWindow& window, std::string_view code);
// Recomputes *window when `unix_time` is in another step than the one it was computed for,
// then matches `code` against it.
std::optional<int64_t> MatchCurrentTotpWindow(TotpWindow* window, const SecretBytes& secret,
                                              std::string_view code, int64_t unix_time,
                                              int skew_steps);

}  // namespace authgate
