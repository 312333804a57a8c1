#include "core/random.h"

#include <liboath/oath.h>
#include <sodium.h>

#include <mutex>

#include "core/encoding.h"

namespace authgate {

bool InitCrypto() {
  static bool ok = [] { return sodium_init() >= 0 && oath_init() == OATH_OK; }();
  return ok;
}

SecretBytes RandomSecret(size_t size) {
  SecretBytes secret(size);
  randombytes_buf(secret.data(), secret.size());
  return secret;
}

std::string RandomToken() { return Base64UrlEncode(RandomSecret(32).view()); }

std::string RandomId() { return HexEncode(RandomSecret(16).view()); }

std::string RandomPassword(size_t length) {
  static constexpr char kAlphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  std::string out;
  out.reserve(length);
  for (size_t i = 0; i < length; ++i) {
    out.push_back(kAlphabet[randombytes_uniform(sizeof(kAlphabet) - 1)]);
  }
  return out;
}

}  // namespace authgate
