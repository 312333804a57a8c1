// PasswordVerifier: where a login's Argon2id verification runs. AuthService calls it from a
// hash-pool thread. InProcessVerifier verifies on the calling thread; HasherProcesses
// (service/hasher_processes.h) in helper processes.
#pragma once

#include <string>
#include <string_view>

#include "core/password.h"

namespace authgate {

class PasswordVerifier {
 public:
  virtual ~PasswordVerifier() = default;
  // core VerifyPassword's contract: true only when `password` matches `hash`; false for a
  // wrong password or a malformed hash. Blocks for the hash's duration.
  virtual bool Verify(const std::string& hash, std::string_view password) = 0;
};

class InProcessVerifier final : public PasswordVerifier {
 public:
  bool Verify(const std::string& hash, std::string_view password) override {
    return VerifyPassword(hash, password);
  }
};

}  // namespace authgate
