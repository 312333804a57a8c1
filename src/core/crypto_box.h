// Encryption of secrets at rest (TOTP secrets, signing keys) with the master key:
// XChaCha20-Poly1305 (libsodium AEAD) with a random nonce and associated data that binds each
// ciphertext to its purpose and owner, so a ciphertext cannot be moved to another record.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"
#include "core/secret.h"

namespace authgate {

constexpr size_t kMasterKeyBytes = 32;

class CryptoBox {
 public:
  explicit CryptoBox(SecretBytes master_key) : key_(std::move(master_key)) {}

  // Returns nonce || ciphertext || tag.
  std::string Seal(const SecretBytes& plaintext, std::string_view associated_data) const;
  Result<SecretBytes> Open(std::string_view sealed, std::string_view associated_data) const;

 private:
  SecretBytes key_;
};

}  // namespace authgate
