#include "service/refresh_flow.h"

#include "core/refresh_token.h"

namespace authgate {

RefreshFlow::RefreshFlow(ServiceContext context)
    : context_(std::move(context)), issuer_(context_.keys, context_.settings) {}

Outcome<TokenGrant> RefreshFlow::Refresh(const RefreshRequest& request,
                                         const std::string& client) {
  const int64_t now = context_.clock.NowSeconds();
  if (!context_.health.Up()) return Outcome<TokenGrant>::Unavailable();
  const std::optional<RefreshTokenParts> presented = SplitRefreshToken(request.refresh_token);
  if (!presented) return Invalid(RotationResult{}, client, "unknown");  // not one we issue
  const NewRefreshToken next = issuer_.NextRefresh(presented->secret);
  if (next.secret.empty()) return Outcome<TokenGrant>::Unavailable();  // keys not loaded yet
  Result<RotationResult> rotation = context_.store.RotateRefreshToken(
      RefreshKey{presented->id, RefreshTokenHash(presented->secret)}, next.hash,
      now + context_.settings.refresh_ttl_s, now, context_.settings.refresh_reuse_window_s);
  if (!rotation) {
    context_.health.CallFailed(rotation.failure(), "refresh: rotate token");
    return Outcome<TokenGrant>::Unavailable();
  }
  switch (rotation->outcome) {
    case RotationOutcome::kUnknown: return Invalid(*rotation, client, "unknown");
    case RotationOutcome::kExpired: return Invalid(*rotation, client, "expired");
    case RotationOutcome::kRevoked: return Invalid(*rotation, client, "revoked");
    case RotationOutcome::kReuseDetected: return ReuseDetected(*rotation, client);
    case RotationOutcome::kAccountBlocked:
      context_.metrics.Count("refreshes", AccountStatusName(rotation->status));
      return Outcome<TokenGrant>::Fail(Rejection::kBadRequest, AccountStatusCode(rotation->status));
    case RotationOutcome::kRotated: break;
    case RotationOutcome::kReplayed: break;
  }
  // A replay gets the first answer again: the same derived token, issued at the same time.
  const bool replayed = rotation->outcome == RotationOutcome::kReplayed;
  context_.metrics.Count("refreshes", replayed ? "replayed" : "success");
  context_.audit.Write("refresh", {{"result", "success"}, {"replayed", replayed},
                                   {"userId", rotation->user_id},
                                   {"sessionId", rotation->session_id}, {"client", client}},
                       context_.clock.NowMillis());
  return issuer_.Grant(rotation->user_id, rotation->session_id,
                       JoinRefreshToken(rotation->next_id, next.secret), rotation->rotated_at);
}

Outcome<TokenGrant> RefreshFlow::ReuseDetected(const RotationResult& rotation,
                                               const std::string& client) {
  context_.cache.InvalidateSession(rotation.session_id);
  context_.metrics.Count("refresh_reuse", "rotated_token_presented");
  context_.metrics.Count("revocations", "refresh_reuse");
  context_.audit.Write("revocation", {{"reason", "refresh_reuse"}, {"userId", rotation.user_id},
                                      {"sessionId", rotation.session_id}, {"client", client}},
                       context_.clock.NowMillis());
  return Invalid(rotation, client, "reuse_detected");
}

Outcome<TokenGrant> RefreshFlow::Invalid(const RotationResult& rotation,
                                         const std::string& client, const char* reason) {
  context_.metrics.Count("refreshes", reason);
  context_.audit.Write("refresh", {{"result", "failure"}, {"reason", reason}, {"client", client},
                                   {"sessionId", rotation.session_id}},
                       context_.clock.NowMillis());
  return Outcome<TokenGrant>::Fail(Rejection::kUnauthorized, MessageCode::kTokenInvalid,
                                   "refreshToken");
}

}  // namespace authgate
