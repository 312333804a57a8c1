#include "service/store_health.h"

namespace authgate {

StoreHealth::StoreHealth(const Clock& clock) : log_("store", spdlog::level::err, clock) {}

void StoreHealth::CallFailed(const Error& error, std::string_view operation) {
  WriteFailed(error, operation);
  up_.store(false, std::memory_order_release);
}

void StoreHealth::WriteFailed(const Error& error, std::string_view operation) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  log_.Write(operation, error);
}

void StoreHealth::BackgroundCallFailed(const Error& error, std::string_view operation) {
  log_.Write(operation, error);
}

}  // namespace authgate
