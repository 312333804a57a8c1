#include "core/password.h"

#include <sodium.h>

#include <atomic>

namespace authgate {

Result<std::string> HashPassword(std::string_view password, const PasswordParams& params) {
  if (params.parallelism != 1) return Error{"password.parallelism must be 1"};
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), params.iterations,
                            static_cast<size_t>(params.memory_kib) * 1024,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Error{"password hashing failed (out of memory?)"};
  }
  return std::string(out);
}

namespace {
std::atomic<Argon2Backend> verify_backend{Argon2Backend::kLibsodium};
}  // namespace

void SetPasswordBackend(Argon2Backend backend) { verify_backend.store(backend); }
Argon2Backend PasswordBackend() { return verify_backend.load(); }

bool VerifyPassword(const std::string& hash, std::string_view password) {
  return VerifyArgon2id(verify_backend.load(std::memory_order_relaxed), hash, password);
}

bool PasswordNeedsRehash(const std::string& hash, const PasswordParams& params) {
  return crypto_pwhash_str_needs_rehash(hash.c_str(), params.iterations,
                                        static_cast<size_t>(params.memory_kib) * 1024) != 0;
}

}  // namespace authgate
