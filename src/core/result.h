// Result<T>: a value or an Error, for code that must not throw across a layer boundary.
// Status: success or an Error.
//
// An Error carries a code that callers branch on (never its text), a short human-readable line
// fit for stderr or a log (never a secret), for operations over a batch of inputs which entry of
// the batch failed, and, when a dependency gave one, its own stable name for the cause (the same
// for every occurrence, so a log can count them). Values; any thread.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace authgate {

enum class ErrorCode {
  kInternal,         // a bug, or a failure no other code describes
  kInvalidArgument,  // the caller's input cannot be used (config, CLI argument, import row)
  kNotFound,         // what the operation names does not exist
  kAlreadyExists,    // a unique name or id is taken
  kUnavailable,      // the store or a helper did not answer or refused for now: try again later
  kCorrupt,          // stored data cannot be read back (a bad row, a key that does not match)
};

std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  explicit Error(std::string text, ErrorCode error_code = ErrorCode::kInternal,
        std::optional<size_t> failing_entry = std::nullopt)
      : message(std::move(text)), code(error_code), entry(failing_entry) {}

  std::string message;
  ErrorCode code;
  std::optional<size_t> entry;  // the failing entry of a batch operation's input, from 0
  // The dependency's name for what failed ("SQLITE_READONLY_DBMOVED", "SQLSTATE 57P01"), never
  // varying between occurrences; "" when it gave none.
  std::string cause;

  static Error Unavailable(std::string message) {
    return Error{std::move(message), ErrorCode::kUnavailable};
  }
  static Error InvalidArgument(std::string message) {
    return Error{std::move(message), ErrorCode::kInvalidArgument};
  }
  // The same error with `context` before its message ("context: message").
  Error Within(std::string_view context) const {
    Error wrapped = *this;
    wrapped.message = std::string(context) + ": " + message;
    return wrapped;
  }
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : value_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(value_); }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<T>(value_); }
  const T& value() const { return std::get<T>(value_); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& failure() const { return std::get<Error>(value_); }
  const std::string& error() const { return failure().message; }
  ErrorCode code() const { return failure().code; }

 private:
  std::variant<T, Error> value_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status Ok() { return Status(); }
  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& failure() const { return *error_; }
  const std::string& error() const { return error_->message; }
  ErrorCode code() const { return error_->code; }

 private:
  std::optional<Error> error_;
};

}  // namespace authgate
