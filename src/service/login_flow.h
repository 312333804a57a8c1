// LoginFlow: the login use case (SPEC §2): username, password and a TOTP code in, a token grant
// out, under the per-username lockout the store keeps exactly (Store::AdmitLoginAttempt) and
// the hold of SPEC §10.3 (Store::FinishLogin): a right password with too many wrong otps holds
// the account, answered Account_Locked like a lock, until an operator unlocks it.
//
// Every wrong credential looks alike (SPEC §10.5): an unknown name, a wrong password, a right
// password with a wrong or reused otp, and a name no account can have all get the same answer
// (400 USERNAME_OR_PASSWORD_INCORRECT), the same metrics family and about the same time (an
// Argon2id verification runs for each, against a dummy hash when there is no account). Whoever
// holds a leaked password learns nothing without the second factor. Only the account's status
// is told, and only once both factors were proven. A name no account can have never reaches the
// store, so it cannot fill the lockout table.
//
// Blocks (Argon2id through PasswordVerifier, store calls): call it from the hash pool. While
// StoreHealth says the store is down it answers 503 without trying it. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/requests.h"
#include "service/outcome.h"
#include "service/password_verifier.h"
#include "service/service_context.h"
#include "service/token_issuer.h"

namespace authgate {

class LoginFlow {
 public:
  LoginFlow(ServiceContext context, PasswordVerifier& passwords);

  // `client` is the client's address; it and `user_agent` (the User-Agent header, as sent) are
  // kept with the session a login makes (SPEC §10.4; core/user_agent.h makes the latter safe).
  Outcome<TokenGrant> Login(const LoginRequest& request, const std::string& client,
                            std::string_view user_agent = {});

 private:
  struct NewSession {
    std::string id;
    std::string refresh_token;
  };

  // The answer for a name no account can have: that of an unknown name, with nothing stored.
  Outcome<TokenGrant> RefuseImpossibleName(const LoginRequest& request, const std::string& client);
  // Locked (§2) or held (§10.3), told by `reason`: Account_Locked, nothing checked.
  Outcome<TokenGrant> RefuseLocked(const std::string& username, const std::string& client,
                                   const char* reason);
  // After the password was proven: the store proves the otp and records the outcome
  // (Store::FinishLogin, exact for the hold of SPEC §10.3).
  Outcome<TokenGrant> LoginWithProvenPassword(const LoginRequest& request, const UserRecord& user,
                                              int64_t now, const std::string& client,
                                              std::string_view user_agent);
  // This wrong otp held the account: the audit line, the counter and a warning for operators.
  void AuditHold(const UserRecord& user, const std::string& client);
  // Both factors proven of an account that may not log in: told, but no token is issued.
  Outcome<TokenGrant> RefuseStatus(const UserRecord& user, const std::string& client);
  // Both factors proven of an active account, its session stored: tokens, a rehash if due.
  Outcome<TokenGrant> Complete(const LoginRequest& request, const UserRecord& user,
                               const NewSession& session, int64_t now, const std::string& client);
  // A wrong credential found before the otp: counted against the name, then Refused.
  Outcome<TokenGrant> Incorrect(const std::string& username, int64_t now,
                                const std::string& client, const char* reason);
  // The one answer for every wrong credential; `after` (the name's §2 state after this failure,
  // when known) tells whether this failure locked the name.
  Outcome<TokenGrant> Refused(const std::string& username, const std::optional<AttemptState>& after,
                              const std::string& client, const char* reason);
  // A store call the answer needs failed: logged as `operation`, the circuit opened, 503.
  Outcome<TokenGrant> StoreFailed(const Error& error, std::string_view operation);

  const ServiceContext context_;
  PasswordVerifier& passwords_;
  const TokenIssuer issuer_;
  std::string dummy_hash_;
};

}  // namespace authgate
