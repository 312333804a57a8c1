// Argon2id password hashing (PHC string format). New hashes are written by libsodium's
// crypto_pwhash; verification runs on the Argon2id implementation chosen for this machine
// (core/argon2_backends.h; libsodium until SetPasswordBackend says otherwise).
// Hashing takes tens of milliseconds by design: call it from a worker pool, never an I/O thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/argon2_backends.h"
#include "core/result.h"

namespace authgate {

struct PasswordParams {
  uint32_t memory_kib = 19456;
  uint32_t iterations = 2;
  uint32_t parallelism = 1;  // libsodium's Argon2id is single-lane: only 1 is accepted.
};

Result<std::string> HashPassword(std::string_view password, const PasswordParams& params);
// Constant-time with respect to the password; false for a malformed hash.
bool VerifyPassword(const std::string& hash, std::string_view password);
// The implementation VerifyPassword uses. Set it once at startup, before verifications start
// (reads are atomic, so a late change is safe, just not meant).
void SetPasswordBackend(Argon2Backend backend);
Argon2Backend PasswordBackend();
// True when `hash` was made with parameters other than `params` (re-hash after a login).
bool PasswordNeedsRehash(const std::string& hash, const PasswordParams& params);

}  // namespace authgate
