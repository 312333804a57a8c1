#include "service/audit.h"

#include <cerrno>
#include <cstring>

namespace authgate {

Result<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path) {
  if (path.empty()) return std::unique_ptr<AuditLog>(new AuditLog(stdout, false));
  FILE* file = std::fopen(path.c_str(), "a");
  if (file == nullptr) {
    return Error{"cannot open audit file '" + path + "': " + std::strerror(errno)};
  }
  return std::unique_ptr<AuditLog>(new AuditLog(file, true));
}

AuditLog::~AuditLog() {
  if (owned_) std::fclose(file_);
}

void AuditLog::Write(const std::string& event, nlohmann::json fields, int64_t now_ms) {
  fields["ts"] = now_ms;
  fields["event"] = event;
  std::string line = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  std::lock_guard<std::mutex> lock(mutex_);
  std::fwrite(line.data(), 1, line.size(), file_);
  std::fflush(file_);
}

}  // namespace authgate
