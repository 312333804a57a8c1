#include "service/login_flow.h"

#include <spdlog/spdlog.h>

#include "core/random.h"
#include "core/refresh_token.h"
#include "core/totp.h"
#include "core/user_agent.h"
#include "core/username.h"
#include "service/totp_sealing.h"

namespace authgate {

LoginFlow::LoginFlow(ServiceContext context, PasswordVerifier& passwords)
    : context_(std::move(context)),
      passwords_(passwords),
      issuer_(context_.keys, context_.settings) {
  // Unknown usernames verify against this hash, so they take as long as wrong passwords.
  Result<std::string> dummy = HashPassword(RandomPassword(24), context_.settings.password);
  if (dummy) dummy_hash_ = *dummy;
}

Outcome<TokenGrant> LoginFlow::Login(const LoginRequest& request, const std::string& client,
                                     std::string_view user_agent) {
  const int64_t now = context_.clock.NowSeconds();
  const std::string& username = request.username;
  if (!IsPossibleUsername(username)) return RefuseImpossibleName(request, client);
  if (!context_.health.Up()) return Outcome<TokenGrant>::Unavailable();
  Result<Admission> admission =
      context_.store.AdmitLoginAttempt(username, now, context_.settings.lockout);
  if (!admission) return StoreFailed(admission.failure(), "login: admit attempt");
  if (*admission == Admission::kLocked) return RefuseLocked(username, client, "locked");
  if (*admission == Admission::kHeld) return RefuseLocked(username, client, "held");
  Result<std::optional<UserRecord>> found = context_.store.FindUserByName(username);
  if (!found) return StoreFailed(found.failure(), "login: find user");
  if (!found->has_value()) {
    passwords_.Verify(dummy_hash_, request.password);
    return Incorrect(username, now, client, "unknown_user");
  }
  if (!passwords_.Verify((*found)->password_hash, request.password)) {
    return Incorrect(username, now, client, "wrong_password");
  }
  return LoginWithProvenPassword(request, **found, now, client, user_agent);
}

Outcome<TokenGrant> LoginFlow::RefuseImpossibleName(const LoginRequest& request,
                                                    const std::string& client) {
  passwords_.Verify(dummy_hash_, request.password);  // the time an unknown name takes
  context_.metrics.Count("logins", "invalid_username");
  context_.audit.Write("login", {{"result", "failure"}, {"reason", "invalid_username"},
                                 {"username", std::string(UsernameForLog(request.username))},
                                 {"client", client}},
                       context_.clock.NowMillis());
  return Outcome<TokenGrant>::Fail(Rejection::kBadRequest,
                                   MessageCode::kUsernameOrPasswordIncorrect);
}

// A name locked (§2) or an account held (§10.3): one answer for both, no credential checked.
Outcome<TokenGrant> LoginFlow::RefuseLocked(const std::string& username,
                                            const std::string& client, const char* reason) {
  context_.metrics.Count("logins", reason);
  context_.audit.Write("login", {{"result", "failure"}, {"reason", reason},
                                 {"username", username}, {"client", client}},
                       context_.clock.NowMillis());
  return Outcome<TokenGrant>::Fail(Rejection::kBadRequest, MessageCode::kAccountLocked);
}

// Every answer here but success and the account's status must be the one a wrong password
// gets (SPEC §10.5): whoever holds a leaked password learns nothing without the second factor —
// a store that fails now included (logged for the operator, told to no one else).
Outcome<TokenGrant> LoginFlow::LoginWithProvenPassword(const LoginRequest& request,
                                                       const UserRecord& user, int64_t now,
                                                       const std::string& client,
                                                       std::string_view user_agent) {
  Result<SecretBytes> secret =
      OpenTotpSecret(context_.box, user, "login", "answered as a wrong credential");
  // As stored: the name the lockout counts, whatever the request's spelling.
  if (!secret) return Incorrect(user.username, now, client, "secret_unreadable");
  const NewRefreshToken refresh = issuer_.NewRefresh();
  const LoginFinish finish{.username = user.username,
                           .user_id = user.id,
                           .active = user.status == AccountStatus::kActive,
                           .lockout = context_.settings.lockout,
                           .session_id = RandomId(),
                           .refresh_hash = refresh.hash,
                           .refresh_expires_at = now + context_.settings.refresh_ttl_s,
                           .now = now,
                           .address = client,
                           .user_agent = SessionUserAgent(user_agent)};
  Result<LoginResult> finished = context_.store.FinishLogin(finish, [&] {
    return MatchTotp(*secret, request.otp, now, context_.settings.skew_steps);
  });
  if (!finished) {
    context_.health.CallFailed(finished.failure(), "login: finish (otp, counts, session)");
    return Refused(user.username, std::nullopt, client, "store_failed");
  }
  switch (finished->verdict) {
    case LoginVerdict::kCompleted:
      return Complete(request, user,
                      {finish.session_id, JoinRefreshToken(finished->refresh_id, refresh.secret)},
                      now, client);
    case LoginVerdict::kProvenInactive:
      return RefuseStatus(user, client);
    case LoginVerdict::kHeld:
      return Refused(user.username, finished->attempts, client, "held");
    case LoginVerdict::kWrongOtp:
    case LoginVerdict::kOtpStepUsed:
      break;
  }
  if (finished->now_held) AuditHold(user, client);
  const bool reused = finished->verdict == LoginVerdict::kOtpStepUsed;
  return Refused(user.username, finished->attempts, client, reused ? "otp_reused" : "wrong_otp");
}

void LoginFlow::AuditHold(const UserRecord& user, const std::string& client) {
  context_.metrics.Count("credential_holds", "otp_failures");
  context_.audit.Write("credential_hold",
                       {{"username", user.username}, {"userId", user.id},
                        {"reason", "otp_failures"},
                        {"failures", context_.settings.lockout.otp_failures_before_hold},
                        {"client", client}},
                       context_.clock.NowMillis());
  spdlog::warn("user id {} is held after {} wrong login otps with its password: the password "
               "is known to someone ('authgate user unlock' releases it)",
               user.id, context_.settings.lockout.otp_failures_before_hold);
}

Outcome<TokenGrant> LoginFlow::RefuseStatus(const UserRecord& user, const std::string& client) {
  const std::string_view status = AccountStatusName(user.status);
  context_.metrics.Count("logins", status);
  context_.audit.Write("login", {{"result", "failure"}, {"reason", status},
                                 {"username", user.username}, {"userId", user.id},
                                 {"client", client}},
                       context_.clock.NowMillis());
  return Outcome<TokenGrant>::Fail(Rejection::kBadRequest, AccountStatusCode(user.status));
}

Outcome<TokenGrant> LoginFlow::Complete(const LoginRequest& request, const UserRecord& user,
                                        const NewSession& session, int64_t now,
                                        const std::string& client) {
  const ServiceSettings& settings = context_.settings;
  if (PasswordNeedsRehash(user.password_hash, settings.password)) {
    Result<std::string> rehashed = HashPassword(request.password, settings.password);
    Status updated = rehashed ? context_.store.UpdatePasswordHash(user.id, *rehashed) : Status();
    if (!updated) context_.health.WriteFailed(updated.failure(), "login: rehash password");
  }
  context_.metrics.Count("logins", "success");
  context_.audit.Write("login", {{"result", "success"}, {"username", user.username},
                                 {"userId", user.id}, {"sessionId", session.id},
                                 {"client", client}},
                       context_.clock.NowMillis());
  return issuer_.Grant(user.id, session.id, session.refresh_token, now);
}

Outcome<TokenGrant> LoginFlow::Incorrect(const std::string& username, int64_t now,
                                         const std::string& client, const char* reason) {
  Result<AttemptState> after =
      context_.store.RecordLoginFailure(username, now, context_.settings.lockout);
  if (!after) context_.health.CallFailed(after.failure(), "login: record failed attempt");
  return Refused(username, after ? std::optional(*after) : std::nullopt, client, reason);
}

Outcome<TokenGrant> LoginFlow::Refused(const std::string& username,
                                       const std::optional<AttemptState>& after,
                                       const std::string& client, const char* reason) {
  context_.metrics.Count("logins", reason);
  context_.audit.Write("login", {{"result", "failure"}, {"reason", reason},
                                 {"username", username}, {"client", client}},
                       context_.clock.NowMillis());
  const LockoutPolicy& lockout = context_.settings.lockout;
  const int64_t now = context_.clock.NowSeconds();
  if (after && IsLocked(*after, now) && after->locked_until == after->last_failure_at + lockout.duration_s) {
    context_.metrics.Count("locks", "failed_attempts");
    context_.audit.Write("lock", {{"username", username}, {"until", after->locked_until},
                                  {"client", client}},
                         context_.clock.NowMillis());
  }
  return Outcome<TokenGrant>::Fail(Rejection::kBadRequest,
                                   MessageCode::kUsernameOrPasswordIncorrect);
}

Outcome<TokenGrant> LoginFlow::StoreFailed(const Error& error, std::string_view operation) {
  context_.health.CallFailed(error, operation);
  return Outcome<TokenGrant>::Unavailable();
}

}  // namespace authgate
