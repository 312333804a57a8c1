#include "service/totp_sealing.h"

#include <spdlog/spdlog.h>

namespace authgate {

Result<SecretBytes> OpenTotpSecret(const CryptoBox& box, const UserRecord& user,
                                   std::string_view use, std::string_view consequence) {
  Result<SecretBytes> secret = box.Open(user.totp_secret_sealed, TotpAssociatedData(user.username));
  if (!secret) {
    spdlog::error("{} of user id {}: its TOTP secret cannot be unsealed (another master key, or a "
                  "damaged row); {}",
                  use, user.id, consequence);
  }
  return secret;
}

}  // namespace authgate
