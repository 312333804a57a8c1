// RefreshFlow: the refresh use case (SPEC §3): a refresh token in, a new grant for the same
// session out, the old token rotated away in one atomic store step (Store::RotateRefreshToken).
// Presenting an already-rotated token revokes its whole session (reuse detection): the session
// is dropped from VerifyCache at once, so its access tokens stop verifying on this instance
// before the change log tells the others.
//
// Blocks on the store: call it from the store pool. While StoreHealth says the store is down it
// answers 503 without trying it. Thread-safe.
#pragma once

#include <string>

#include "core/requests.h"
#include "service/outcome.h"
#include "service/service_context.h"
#include "service/token_issuer.h"

namespace authgate {

class RefreshFlow {
 public:
  explicit RefreshFlow(ServiceContext context);

  Outcome<TokenGrant> Refresh(const RefreshRequest& request, const std::string& client);

 private:
  // The answer to a token that rotates nothing (unknown, expired, revoked, reused).
  Outcome<TokenGrant> Invalid(const RotationResult& rotation, const std::string& client,
                              const char* reason);
  Outcome<TokenGrant> ReuseDetected(const RotationResult& rotation, const std::string& client);

  const ServiceContext context_;
  const TokenIssuer issuer_;
};

}  // namespace authgate
