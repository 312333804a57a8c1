// The message codes of SPEC.md: the only error vocabulary that reaches an API client.
#pragma once

#include <string_view>

namespace authgate {

enum class MessageCode {
  kRequired,
  kInvalidValue,
  kInvalidJson,
  kAccountLocked,
  kUsernameOrPasswordIncorrect,
  kAccountNotVerified,
  kAccountSuppressed,
  kTokenInvalid,
  kTokenExpired,
  kOtpIncorrect,
  kNotFound,
  kMethodNotAllowed,
  kPayloadTooLarge,
  kUnsupportedMediaType,
  kTooManyRequests,
  kServiceUnavailable,
  kInternalError,
};

std::string_view MessageCodeName(MessageCode code);

// Account status as stored and as named on the command line.
enum class AccountStatus { kActive, kUnverified, kSuppressed };

std::string_view AccountStatusName(AccountStatus status);
// Returns false when `name` is not one of active, unverified, suppressed.
bool ParseAccountStatus(std::string_view name, AccountStatus* status);

}  // namespace authgate
