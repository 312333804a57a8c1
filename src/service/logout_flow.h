// LogoutFlow: the logout use case (SPEC §3): the same credentials a verify needs (token and
// otp, checked in full by the Authenticator, never from a memo), then the session is revoked in
// the store and dropped from VerifyCache at once; other instances learn it from the change log.
//
// Blocks on the store: call it from the store pool. While StoreHealth says the store is down it
// answers 503 without trying it. Thread-safe.
#pragma once

#include <string>

#include "service/authenticator.h"
#include "service/credentials.h"
#include "service/outcome.h"
#include "service/service_context.h"

namespace authgate {

class LogoutFlow {
 public:
  LogoutFlow(ServiceContext context, Authenticator& authenticator)
      : context_(std::move(context)), authenticator_(authenticator) {}

  Outcome<Identity> Logout(const RequestCredentials& credentials, const std::string& client);

 private:
  const ServiceContext context_;
  Authenticator& authenticator_;
};

}  // namespace authgate
