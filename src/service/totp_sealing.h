// The sealing of a user's TOTP secret. The context binds the ciphertext to the username, so a
// sealed secret copied to another account's row does not open there. Any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/crypto_box.h"
#include "core/result.h"
#include "core/secret.h"
#include "store/store.h"

namespace authgate {

inline std::string TotpAssociatedData(const std::string& username) { return "totp:" + username; }

// `user`'s TOTP secret, unsealed with the username as stored. When it cannot be (another
// master key, a damaged row) it says so at error level, at most once a second for each `use`
// (service/failure_log.h: 'totp secret failure: op="<use>" cause="unsealable" ... user id N:
// ...; <consequence>'): only the operator can mend it, and the client is never told. Any thread.
Result<SecretBytes> OpenTotpSecret(const CryptoBox& box, const UserRecord& user,
                                   std::string_view use, std::string_view consequence);

}  // namespace authgate
