#include "core/crypto_box.h"

#include <sodium.h>

namespace authgate {

std::string CryptoBox::Seal(const SecretBytes& plaintext, std::string_view associated_data) const {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::string out(kNonce + plaintext.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(out.data());
  randombytes_buf(bytes, kNonce);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      bytes + kNonce, &written, plaintext.data(), plaintext.size(),
      reinterpret_cast<const unsigned char*>(associated_data.data()), associated_data.size(),
      nullptr, bytes, key_.data());
  out.resize(kNonce + written);
  return out;
}

Result<SecretBytes> CryptoBox::Open(std::string_view sealed,
                                    std::string_view associated_data) const {
  constexpr size_t kNonce = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  constexpr size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;
  if (key_.size() != kMasterKeyBytes) return Error{"master key has the wrong size"};
  if (sealed.size() < kNonce + kTag) return Error{"sealed secret is truncated"};
  const auto* bytes = reinterpret_cast<const unsigned char*>(sealed.data());
  SecretBytes plain(sealed.size() - kNonce - kTag);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.data(), &written, nullptr, bytes + kNonce, sealed.size() - kNonce,
          reinterpret_cast<const unsigned char*>(associated_data.data()), associated_data.size(),
          bytes, key_.data()) != 0) {
    return Error{"secret does not decrypt with this master key"};
  }
  return plain;
}

}  // namespace authgate
