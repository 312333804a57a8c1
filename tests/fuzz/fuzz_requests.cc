// Fuzzes the public endpoints' body and content-type handling (core/requests).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/requests.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  authgate::ParsedLogin login = authgate::ParseLoginBody(input);
  if (login.errors.empty() && (login.request.username.empty() || login.request.otp.empty())) {
    __builtin_trap();  // a request without errors has every field
  }
  authgate::ParseRefreshBody(input);
  authgate::IsJsonContentType(input);
  return 0;
}
