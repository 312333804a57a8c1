// What SqlStore's operations share: turning internal exceptions into Error values at each
// operation's boundary, and the text forms that enums take in rows.
#pragma once

#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "core/codes.h"
#include "core/result.h"
#include "store/sql_connection.h"
#include "store/store.h"

namespace authgate {

// Runs `body`; any exception (the implementation's SQL errors, a malformed value) becomes an
// Error value that starts with "store: " and keeps the SqlError's code and cause. Nothing throws
// past an operation.
template <typename T, typename Body>
Result<T> GuardStore(Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Error{"store: out of memory"};
  } catch (const SqlError& error) {
    Error failure{std::string("store: ") + error.what(), error.code};
    failure.cause = error.cause;
    return failure;
  } catch (const std::exception& error) {
    return Error{std::string("store: ") + error.what()};
  }
}

template <typename Body>
Status GuardStoreStatus(Body&& body) {
  Result<bool> result = GuardStore<bool>([&] {
    body();
    return true;
  });
  if (!result) return result.failure();
  return Status::Ok();
}

inline std::string ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kUser: return "user";
    case ChangeKind::kSession: return "session";
    case ChangeKind::kKeys: return "keys";
  }
  return "keys";
}

inline ChangeKind ParseChangeKind(std::string_view name) {
  if (name == "user") return ChangeKind::kUser;
  if (name == "session") return ChangeKind::kSession;
  return ChangeKind::kKeys;  // reloading keys is harmless for anything unexpected
}

// An unreadable status never grants access.
inline AccountStatus StatusFromText(const std::string& text) {
  AccountStatus status = AccountStatus::kSuppressed;
  ParseAccountStatus(text, &status);
  return status;
}

}  // namespace authgate
