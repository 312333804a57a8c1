#include "service/logout_flow.h"

namespace authgate {

Outcome<Identity> LogoutFlow::Logout(const RequestCredentials& credentials,
                                     const std::string& client) {
  const int64_t now = context_.clock.NowSeconds();
  if (!context_.health.Up()) return Outcome<Identity>::Unavailable();
  Outcome<Identity> outcome = authenticator_.Authenticate(credentials, now);
  if (!outcome.value) {
    context_.metrics.Count("logouts", MessageCodeName(outcome.error.code));
    return outcome;
  }
  const Identity& identity = *outcome.value;
  Result<SessionEnd> revoked = context_.store.RevokeSession(identity.session_id, now);
  if (!revoked) {
    context_.health.CallFailed(revoked.failure(), "logout: revoke session");
    return Outcome<Identity>::Unavailable();
  }
  context_.cache.InvalidateSession(identity.session_id);
  context_.metrics.Count("logouts", "success");
  context_.metrics.Count("revocations", "logout");
  context_.audit.Write("logout", {{"userId", identity.user_id},
                                  {"sessionId", identity.session_id}, {"client", client}},
                       context_.clock.NowMillis());
  return outcome;
}

}  // namespace authgate
