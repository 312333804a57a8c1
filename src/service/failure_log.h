// FailureLog: the log lines that tell an operator why something failed (a store call, a
// password-hash helper, a TLS handshake), at most one per second per cause (core/log_limiter.h),
// so that a failing disk or a port scanner cannot flood the log. Each line reads
//   <subject> failure: op="<operation>" cause="<cause>" suppressed=<n>: <message>
// where <n> counts the failures of that operation and cause left unwritten since its previous
// line. Callers pass messages that carry no secret (each caller's header says why its do);
// control characters in them become spaces, so one failure is always one line.
//
// Thread-safe: Write may be called from any thread. While the logger's level hides the lines,
// nothing is counted.
#pragma once

#include <spdlog/common.h>

#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/log_limiter.h"
#include "core/result.h"

namespace authgate {

class FailureLog {
 public:
  // Lines start with `subject` ("store", "hash helper", "tls handshake") and are written at
  // `level` to spdlog's default logger; `clock` times the one-second windows.
  FailureLog(std::string subject, spdlog::level::level_enum level, const Clock& clock);
  // The same, timed by the system clock.
  FailureLog(std::string subject, spdlog::level::level_enum level);

  // `cause` is the key: a name that is the same for every failure of one kind, never the
  // varying text of a message.
  void Write(std::string_view operation, std::string_view cause, std::string_view message);
  // An Error's cause (Error::cause, or its code's name when it has none) and message.
  void Write(std::string_view operation, const Error& error);

 private:
  const std::string subject_;
  const spdlog::level::level_enum level_;
  const Clock& clock_;
  LogLimiter limiter_;
};

}  // namespace authgate
