#include "core/totp.h"

#include <liboath/oath.h>
#include <sodium.h>

namespace authgate {

std::string HotpCode(const SecretBytes& secret, uint64_t counter, int digits) {
  char out[16] = {};
  if (oath_hotp_generate(reinterpret_cast<const char*>(secret.data()), secret.size(), counter,
                         static_cast<unsigned>(digits), false, OATH_HOTP_DYNAMIC_TRUNCATION,
                         out) != OATH_OK) {
    return {};
  }
  return std::string(out);
}

std::string TotpCode(const SecretBytes& secret, int64_t unix_time, int digits, OtpHash hash) {
  int flags = 0;
  if (hash == OtpHash::kSha256) flags = OATH_TOTP_HMAC_SHA256;
  if (hash == OtpHash::kSha512) flags = OATH_TOTP_HMAC_SHA512;
  char out[16] = {};
  if (oath_totp_generate2(reinterpret_cast<const char*>(secret.data()), secret.size(),
                          static_cast<time_t>(unix_time), kTotpStepSeconds, 0,
                          static_cast<unsigned>(digits), flags, out) != OATH_OK) {
    return {};
  }
  return std::string(out);
}

TotpWindow ComputeTotpWindow(const SecretBytes& secret, int64_t unix_time, int skew_steps) {
  TotpWindow window;
  if (unix_time < 0) return window;
  window.step = TotpStep(unix_time);
  for (int64_t step = window.step - skew_steps; step <= window.step + skew_steps; ++step) {
    if (step >= 0) window.codes.emplace_back(step, TotpCode(secret, step * kTotpStepSeconds));
  }
  return window;
}

std::optional<int64_t> MatchTotpWindow(const TotpWindow& window, std::string_view code) {
  bool well_formed = code.size() == static_cast<size_t>(kOtpDigits);
  for (char c : code) well_formed = well_formed && c >= '0' && c <= '9';
  if (!well_formed) return std::nullopt;
  std::optional<int64_t> matched;
  // Every code of the window is compared, so timing does not reveal which one matched.
  for (const auto& [step, expected] : window.codes) {
    if (expected.size() == code.size() &&
        sodium_memcmp(expected.data(), code.data(), code.size()) == 0 && !matched) {
      matched = step;
    }
  }
  return matched;
}

std::optional<int64_t> MatchCurrentTotpWindow(TotpWindow* window, const SecretBytes& secret,
                                              std::string_view code, int64_t unix_time,
                                              int skew_steps) {
  if (window->step != TotpStep(unix_time)) {
    *window = ComputeTotpWindow(secret, unix_time, skew_steps);
  }
  return MatchTotpWindow(*window, code);
}

std::optional<int64_t> MatchTotp(const SecretBytes& secret, std::string_view code,
                                 int64_t unix_time, int skew_steps) {
  return MatchTotpWindow(ComputeTotpWindow(secret, unix_time, skew_steps), code);
}

}  // namespace authgate
