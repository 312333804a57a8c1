// AuditLog: one JSON line per security event (login, refresh, logout, lock, revocation), to
// standard output or an append-only file. Callers pass only non-secret fields.
#pragma once

#include <cstdio>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"

namespace authgate {

class AuditLog {
 public:
  // path "" writes to standard output.
  static Result<std::unique_ptr<AuditLog>> Open(const std::string& path);
  ~AuditLog();

  // Adds "ts" (unix milliseconds) and "event", then writes `fields` as one line.
  void Write(const std::string& event, nlohmann::json fields, int64_t now_ms);

 private:
  explicit AuditLog(FILE* file, bool owned) : file_(file), owned_(owned) {}
  std::mutex mutex_;
  FILE* file_;
  bool owned_;
};

}  // namespace authgate
