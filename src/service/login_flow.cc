#include "service/login_flow.h"

#include "core/random.h"
#include "core/totp.h"
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

Outcome<TokenGrant> LoginFlow::Login(const LoginRequest& request, const std::string& client) {
  const int64_t now = context_.clock.NowSeconds();
  const std::string& username = request.username;
  if (!IsPossibleUsername(username)) return RefuseImpossibleName(request, client);
  if (!context_.health.Up()) return Outcome<TokenGrant>::Unavailable();
  Result<Admission> admission =
      context_.store.AdmitLoginAttempt(username, now, context_.settings.lockout);
  if (!admission) return StoreFailed(admission.failure(), "login: admit attempt");
  if (*admission == Admission::kLocked) return RefuseLocked(username, client);
  Result<std::optional<UserRecord>> found = context_.store.FindUserByName(username);
  if (!found) return StoreFailed(found.failure(), "login: find user");
  if (!found->has_value()) {
    passwords_.Verify(dummy_hash_, request.password);
    return Incorrect(username, now, client, "unknown_user");
  }
  if (!passwords_.Verify((*found)->password_hash, request.password)) {
    return Incorrect(username, now, client, "wrong_password");
  }
  return LoginWithProvenPassword(request, **found, now, client);
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

Outcome<TokenGrant> LoginFlow::RefuseLocked(const std::string& username,
                                            const std::string& client) {
  context_.metrics.Count("logins", "locked");
  context_.audit.Write("login", {{"result", "failure"}, {"reason", "locked"},
                                 {"username", username}, {"client", client}},
                       context_.clock.NowMillis());
  return Outcome<TokenGrant>::Fail(Rejection::kBadRequest, MessageCode::kAccountLocked);
}

// Every answer here but success and the account's status must be the one a wrong password
// gets (SPEC §10.5): whoever holds a leaked password learns nothing without the second factor.
Outcome<TokenGrant> LoginFlow::LoginWithProvenPassword(const LoginRequest& request,
                                                       const UserRecord& user, int64_t now,
                                                       const std::string& client) {
  const char* failure = nullptr;
  std::optional<int64_t> step = ProveOtp(request, user, now, &failure);
  // As stored: the name the lockout counts, whatever the request's spelling.
  if (!step) return Incorrect(user.username, now, client, failure);
  if (user.status != AccountStatus::kActive) return RefuseStatus(user, client);
  return Complete(request, user, *step, now, client);
}

std::optional<int64_t> LoginFlow::ProveOtp(const LoginRequest& request, const UserRecord& user,
                                           int64_t now, const char** failure) {
  Result<SecretBytes> secret =
      OpenTotpSecret(context_.box, user, "login", "answered as a wrong credential");
  if (!secret) {
    *failure = "secret_unreadable";
    return std::nullopt;
  }
  std::optional<int64_t> step = MatchTotp(*secret, request.otp, now, context_.settings.skew_steps);
  if (!step) *failure = "wrong_otp";
  return step;
}

Outcome<TokenGrant> LoginFlow::RefuseStatus(const UserRecord& user, const std::string& client) {
  // The credentials were proven: this is not a failed attempt, so the count is reset.
  Status reset = context_.store.RecordLoginSuccess(user.username);
  if (!reset) context_.health.WriteFailed(reset.failure(), "login: reset failed attempts");
  const std::string_view status = AccountStatusName(user.status);
  context_.metrics.Count("logins", status);
  context_.audit.Write("login", {{"result", "failure"}, {"reason", status},
                                 {"username", user.username}, {"userId", user.id},
                                 {"client", client}},
                       context_.clock.NowMillis());
  return Outcome<TokenGrant>::Fail(Rejection::kBadRequest, AccountStatusCode(user.status));
}

Outcome<TokenGrant> LoginFlow::Complete(const LoginRequest& request, const UserRecord& user,
                                        int64_t step, int64_t now, const std::string& client) {
  const ServiceSettings& settings = context_.settings;
  // The otp step, the reset of the failure count and the session: one transaction.
  const std::string session_id = RandomId();
  const NewRefreshToken refresh = issuer_.NewRefresh();
  Result<LoginCompletion> completed = context_.store.CompleteLogin(
      user.username, user.id, step, session_id, refresh.hash, now + settings.refresh_ttl_s, now);
  if (!completed) return StoreFailed(completed.failure(), "login: complete");
  if (*completed == LoginCompletion::kOtpStepUsed) {
    return Incorrect(user.username, now, client, "otp_reused");
  }
  if (PasswordNeedsRehash(user.password_hash, settings.password)) {
    Result<std::string> rehashed = HashPassword(request.password, settings.password);
    Status updated = rehashed ? context_.store.UpdatePasswordHash(user.id, *rehashed) : Status();
    if (!updated) context_.health.WriteFailed(updated.failure(), "login: rehash password");
  }
  context_.metrics.Count("logins", "success");
  context_.audit.Write("login", {{"result", "success"}, {"username", user.username},
                                 {"userId", user.id}, {"sessionId", session_id},
                                 {"client", client}},
                       context_.clock.NowMillis());
  return issuer_.Grant(user.id, session_id, refresh.token, now);
}

Outcome<TokenGrant> LoginFlow::Incorrect(const std::string& username, int64_t now,
                                         const std::string& client, const char* reason) {
  const LockoutPolicy& lockout = context_.settings.lockout;
  Result<AttemptState> after = context_.store.RecordLoginFailure(username, now, lockout);
  if (!after) context_.health.CallFailed(after.failure(), "login: record failed attempt");
  context_.metrics.Count("logins", reason);
  context_.audit.Write("login", {{"result", "failure"}, {"reason", reason},
                                 {"username", username}, {"client", client}},
                       context_.clock.NowMillis());
  if (after && IsLocked(*after, now) && after->locked_until == now + lockout.duration_s) {
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
