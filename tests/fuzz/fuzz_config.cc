// Fuzzes the TOML configuration loader (core/config): any document gives a Config or an error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  authgate::Result<authgate::Config> config = authgate::ParseConfig(text, {});
  if (!config.ok() && config.error().empty()) __builtin_trap();
  return 0;
}
