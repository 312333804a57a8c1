#include "service/totp_sealing.h"

#include <spdlog/fmt/fmt.h>

#include "service/failure_log.h"

namespace authgate {

Result<SecretBytes> OpenTotpSecret(const CryptoBox& box, const UserRecord& user,
                                   std::string_view use, std::string_view consequence) {
  // Every login or verify of such a user would write a line: one per second is enough.
  static FailureLog log("totp secret", spdlog::level::err);
  Result<SecretBytes> secret = box.Open(user.totp_secret_sealed, TotpAssociatedData(user.username));
  if (!secret) {
    log.Write(use, "unsealable",
              fmt::format("user id {}: cannot be unsealed (another master key, or a damaged row); "
                          "{}",
                          user.id, consequence));
  }
  return secret;
}

}  // namespace authgate
