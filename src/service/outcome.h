// The answers of the use cases (SPEC.md §2–§3): a value, or a ServiceError that says the class
// of the failure (Rejection, which the HTTP layer maps to a status code), the message code and
// the field it concerns. Errors are values: no use case throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "core/codes.h"

namespace authgate {

enum class Rejection { kBadRequest, kUnauthorized, kForbidden, kNotFound, kUnavailable };

struct ServiceError {
  Rejection rejection = Rejection::kBadRequest;
  MessageCode code = MessageCode::kInternalError;
  std::string field;
};

template <typename T>
struct Outcome {
  std::optional<T> value;
  ServiceError error;  // meaningful only when !value

  static Outcome Success(T value) {
    Outcome outcome;
    outcome.value = std::move(value);
    return outcome;
  }
  static Outcome Fail(Rejection rejection, MessageCode code, std::string field = "") {
    Outcome outcome;
    outcome.error = {rejection, code, std::move(field)};
    return outcome;
  }
  // The store is unreachable or known to be down (SPEC §10.1): 503.
  static Outcome Unavailable() {
    return Fail(Rejection::kUnavailable, MessageCode::kServiceUnavailable);
  }
};

struct TokenGrant {
  int64_t user_id = 0;
  std::string access_token;
  int64_t expires_in = 0;
  std::string refresh_token;
  int64_t refresh_expires_in = 0;
};

struct Identity {
  int64_t user_id = 0;
  std::string username;
  std::string session_id;
  int64_t expires_at = 0;
};

// The message code of an account that may not get tokens (SPEC §2).
inline MessageCode AccountStatusCode(AccountStatus status) {
  return status == AccountStatus::kUnverified ? MessageCode::kAccountNotVerified
                                              : MessageCode::kAccountSuppressed;
}

}  // namespace authgate
