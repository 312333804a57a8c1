// Fuzzes base32 (TOTP secrets) and base64url decoding: no crash, and decode(encode(x)) == x.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/encoding.h"
#include "core/random.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool ready = authgate::InitCrypto();
  (void)ready;
  std::string input(reinterpret_cast<const char*>(data), size);
  authgate::Base32Decode(input);
  authgate::Base64UrlDecode(input);
  if (!input.empty()) {
    std::optional<std::string> round = authgate::Base32Decode(authgate::Base32Encode(input));
    if (!round || *round != input) __builtin_trap();
    std::optional<std::string> round64 = authgate::Base64UrlDecode(authgate::Base64UrlEncode(input));
    if (!round64 || *round64 != input) __builtin_trap();
  }
  return 0;
}
