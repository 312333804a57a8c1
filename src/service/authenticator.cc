#include "service/authenticator.h"

#include <charconv>

#include "core/otp_failures.h"
#include "core/totp.h"
#include "service/totp_sealing.h"

namespace authgate {
namespace {

using Answer = Outcome<Identity>;

Answer InvalidToken() {
  return Answer::Fail(Rejection::kUnauthorized, MessageCode::kTokenInvalid, "Authorization");
}

Answer ExpiredToken() {
  return Answer::Fail(Rejection::kUnauthorized, MessageCode::kTokenExpired, "Authorization");
}

}  // namespace

Authenticator::Authenticator(ServiceContext context)
    : context_(std::move(context)),
      verify_success_(context_.metrics.Counter("verifications", "success")) {}

Outcome<Identity> Authenticator::Verify(const RequestCredentials& credentials) {
  return *VerifyWith(credentials, StoreUse::kAllowed);
}

std::optional<Outcome<Identity>> Authenticator::VerifyInMemory(
    const RequestCredentials& credentials) {
  return VerifyWith(credentials, StoreUse::kForbidden);
}

Outcome<Identity> Authenticator::Authenticate(const RequestCredentials& credentials,
                                              int64_t now) {
  return *Check(credentials, now, StoreUse::kAllowed, nullptr);
}

std::optional<Outcome<Identity>> Authenticator::VerifyWith(const RequestCredentials& credentials,
                                                           StoreUse use) {
  const int64_t now = context_.clock.NowSeconds();
  if (std::optional<Identity> identity = MemoHit(credentials, now)) {
    verify_success_.Add();
    return Answer::Success(std::move(*identity));
  }
  if (use == StoreUse::kAllowed && !context_.health.Up()) return Answer::Unavailable();
  const uint64_t generation = context_.cache.Generation();  // before the lookups
  VerifyMemo::Entry entry;
  std::optional<Answer> outcome = Check(credentials, now, use, &entry);
  if (!outcome) return std::nullopt;
  if (outcome->value) {
    verify_success_.Add();
    // A success had one bearer token.
    if (entry.user) context_.cache.PutMemo(credentials.token, std::move(entry), generation);
  } else {
    context_.metrics.Count("verifications", MessageCodeName(outcome->error.code));
  }
  return outcome;
}

std::optional<Identity> Authenticator::MemoHit(const RequestCredentials& credentials,
                                               int64_t now) {
  // The memo answers only well-formed requests (one Bearer token, one otp); anything else, and
  // every failure, takes the full path.
  if (credentials.presence != RequestCredentials::TokenPresence::kBearer ||
      credentials.otp_count != 1) {
    return std::nullopt;
  }
  VerifyMemo::Entry* entry = context_.cache.FindMemo(credentials.token);
  if (entry == nullptr || entry->exp <= now - context_.settings.jwt.leeway_s) return std::nullopt;
  if (!MatchCurrentTotpWindow(&entry->otp_window, entry->user->totp_secret, credentials.otp, now,
                              context_.settings.skew_steps)) {
    return std::nullopt;
  }
  return Identity{entry->user_id, entry->username, entry->session_id, entry->exp};
}

std::optional<Outcome<Identity>> Authenticator::Check(const RequestCredentials& credentials,
                                                      int64_t now, StoreUse use,
                                                      VerifyMemo::Entry* memo_entry) {
  using Presence = RequestCredentials::TokenPresence;
  if (credentials.presence == Presence::kMissing) {
    return Answer::Fail(Rejection::kUnauthorized, MessageCode::kRequired, "Authorization");
  }
  std::shared_ptr<const VerifiedToken> verified =
      credentials.presence == Presence::kBearer ? ReadToken(credentials.token, now) : nullptr;
  if (!verified) return InvalidToken();
  const bool expired = verified->exp <= now - context_.settings.jwt.leeway_s;
  // Read before the session is loaded: see CheckOtp.
  const int failures_in_flight = otp_failures_in_flight_.Count(verified->session_id);
  const Lookup lookup = LookUp(*verified, use);
  if (lookup.miss == Miss::kStoreNeeded) return std::nullopt;
  if (lookup.miss == Miss::kStoreFailed) return Answer::Unavailable();       // logged by the load
  if (lookup.miss == Miss::kSecretUnreadable) return Answer::Unavailable();  // this user only
  // A session is pruned only once every token of it has expired (Store::Prune): its expired
  // access token still answers as one.
  if (!lookup.session) return expired ? ExpiredToken() : InvalidToken();
  if (!lookup.user) return InvalidToken();  // revoked, another user's session, or user gone
  if (expired) return ExpiredToken();
  return CheckOtp(credentials, *verified, lookup, failures_in_flight, now, use, memo_entry);
}

std::optional<Outcome<Identity>> Authenticator::CheckOtp(
    const RequestCredentials& credentials, const VerifiedToken& verified, const Lookup& lookup,
    int failures_in_flight, int64_t now, StoreUse use, VerifyMemo::Entry* memo_entry) {
  if (credentials.otp_count == 0 || credentials.otp.empty()) {
    return Answer::Fail(Rejection::kUnauthorized, MessageCode::kRequired, "otp");
  }
  const CachedUser& user = *lookup.user;
  const LockoutPolicy& lockout = context_.settings.lockout;
  bool otp_ok = credentials.otp_count == 1 &&
                user.MatchRequestOtp(credentials.otp, now, context_.settings.skew_steps);
  if (!otp_ok) {
    if (use == StoreUse::kAllowed) return RejectRequestOtp(verified.session_id, verified.user_id, now);
    if (context_.health.Up()) return std::nullopt;  // the failure is counted in the store
    return DeferRequestOtp(verified.session_id, verified.user_id, now);
  }
  // A correct code counts only while the wrong ones counted or being counted for this session
  // stay under the limit; `failures_in_flight` was read before the session was loaded.
  const int recent_failures = RecentOtpFailures(lookup.session->otp_failure_times, now, lockout);
  if (recent_failures + failures_in_flight >= lockout.max_failed_attempts) return InvalidToken();
  if (user.status != AccountStatus::kActive) {
    return Answer::Fail(Rejection::kForbidden, AccountStatusCode(user.status));
  }
  if (memo_entry != nullptr && recent_failures == 0) {
    memo_entry->user_id = verified.user_id;
    memo_entry->username = user.username;
    memo_entry->session_id = verified.session_id;
    memo_entry->exp = verified.exp;
    memo_entry->user = lookup.user;
  }
  return Answer::Success(Identity{verified.user_id, user.username, verified.session_id,
                                  verified.exp});
}

std::shared_ptr<const VerifiedToken> Authenticator::ReadToken(std::string_view token,
                                                              int64_t now) {
  std::shared_ptr<const VerifiedToken> verified = context_.cache.FindToken(token);
  if (verified) return verified;
  const uint64_t generation = context_.cache.Generation();  // before the key snapshot
  std::shared_ptr<const KeySet> keys = context_.keys.Snapshot();
  JwtVerification verification = VerifyJwt(
      token, context_.settings.jwt, [&](std::string_view kid) { return keys->Find(kid, now); },
      now);
  if (verification.status == JwtStatus::kInvalid) return nullptr;
  const JwtClaims& claims = verification.claims;
  auto entry = std::make_shared<VerifiedToken>();
  auto parsed =
      std::from_chars(claims.sub.data(), claims.sub.data() + claims.sub.size(), entry->user_id);
  if (parsed.ec != std::errc()) return nullptr;
  entry->session_id = claims.sid;
  entry->exp = claims.exp;
  context_.cache.PutToken(token, entry, generation);
  return entry;
}

Authenticator::Lookup Authenticator::LookUp(const VerifiedToken& verified, StoreUse use) {
  Lookup lookup;
  lookup.session = LoadSession(verified.session_id, use, &lookup.miss);
  const std::optional<CachedSession>& session = lookup.session;
  if (session && !session->revoked && session->user_id == verified.user_id) {
    lookup.user = LoadUser(verified.user_id, use, &lookup.miss);
  }
  return lookup;
}

std::shared_ptr<const CachedUser> Authenticator::LoadUser(int64_t user_id, StoreUse use,
                                                           Miss* miss) {
  std::shared_ptr<const CachedUser> cached = context_.cache.FindUser(user_id);
  if (cached) return cached;
  if (use == StoreUse::kForbidden) {
    *miss = Miss::kStoreNeeded;
    return nullptr;
  }
  const uint64_t generation = context_.cache.Generation();  // before the store read
  Result<std::optional<UserRecord>> found = context_.store.FindUserById(user_id);
  if (!found) {
    context_.health.CallFailed(found.failure(), "authenticate: load user");
    *miss = Miss::kStoreFailed;
    return nullptr;
  }
  if (!found->has_value()) return nullptr;
  const UserRecord& record = **found;
  Result<SecretBytes> secret =
      OpenTotpSecret(context_.box, record, "verify", "answered 503 for this user");
  if (!secret) {
    *miss = Miss::kSecretUnreadable;
    return nullptr;
  }
  auto user = std::make_shared<CachedUser>();
  user->id = record.id;
  user->username = record.username;
  user->status = record.status;
  user->totp_secret = std::move(*secret);
  context_.cache.PutUser(user, generation);
  return user;
}

std::optional<CachedSession> Authenticator::LoadSession(const std::string& session_id,
                                                        StoreUse use, Miss* miss) {
  std::optional<CachedSession> cached = context_.cache.FindSession(session_id);
  if (cached) return cached;
  if (use == StoreUse::kForbidden) {
    *miss = Miss::kStoreNeeded;
    return std::nullopt;
  }
  const uint64_t generation = context_.cache.Generation();  // before the store read
  Result<std::optional<SessionRecord>> found = context_.store.FindSession(session_id);
  if (!found) {
    context_.health.CallFailed(found.failure(), "authenticate: load session");
    *miss = Miss::kStoreFailed;
    return std::nullopt;
  }
  if (!found->has_value()) return std::nullopt;
  CachedSession session{(*found)->user_id, (*found)->revoked, (*found)->otp_failure_times};
  context_.cache.PutSession(session_id, session, generation);
  return session;
}

Outcome<Identity> Authenticator::RejectRequestOtp(const std::string& session_id, int64_t user_id,
                                                  int64_t now) {
  // In flight before the store knows it: every thread's memo and this session's cached state
  // are dropped, so concurrent correct codes take the full path and see it.
  otp_failures_in_flight_.Begin(session_id);
  context_.cache.InvalidateSession(session_id);
  Result<OtpFailureOutcome> counted =
      context_.store.RecordOtpFailure(session_id, context_.settings.lockout, now);
  context_.cache.InvalidateSession(session_id);
  if (!counted) otp_failures_in_flight_.Defer({session_id, user_id, now});
  otp_failures_in_flight_.End(session_id);
  if (!counted) {
    context_.health.CallFailed(counted.failure(), "authenticate: record otp failure");
    return Answer::Unavailable();
  }
  // Revoked meanwhile (the limit was reached by others): this guess is not answered.
  if (*counted == OtpFailureOutcome::kNotCounted) return InvalidToken();
  if (*counted == OtpFailureOutcome::kRevoked) {
    context_.metrics.Count("revocations", "otp_failures");
    context_.audit.Write("revocation", {{"reason", "otp_failures"}, {"userId", user_id},
                                        {"sessionId", session_id}},
                         context_.clock.NowMillis());
  }
  return Answer::Fail(Rejection::kUnauthorized, MessageCode::kOtpIncorrect, "otp");
}

Outcome<Identity> Authenticator::DeferRequestOtp(const std::string& session_id, int64_t user_id,
                                                 int64_t now) {
  // Counted here until the store is back, and the session dropped from memory: until then
  // every code for it, right or wrong, answers 503 — no answer tells one from the other.
  otp_failures_in_flight_.Defer({session_id, user_id, now});
  context_.cache.InvalidateSession(session_id);
  return Answer::Unavailable();
}

void Authenticator::FlushDeferredOtpFailures() {
  std::vector<OtpFailuresInFlight::Deferred> deferred = otp_failures_in_flight_.TakeDeferred();
  for (size_t i = 0; i < deferred.size(); ++i) {
    const OtpFailuresInFlight::Deferred& failure = deferred[i];
    Result<OtpFailureOutcome> counted =
        context_.store.RecordOtpFailure(failure.session_id, context_.settings.lockout, failure.at);
    if (!counted) {
      context_.health.BackgroundCallFailed(counted.failure(), "flush deferred otp failures");
      for (size_t rest = i; rest < deferred.size(); ++rest) {
        otp_failures_in_flight_.Redefer(std::move(deferred[rest]));
      }
      return;
    }
    context_.cache.InvalidateSession(failure.session_id);
    otp_failures_in_flight_.End(failure.session_id);
    if (*counted == OtpFailureOutcome::kRevoked) {
      context_.metrics.Count("revocations", "otp_failures");
      context_.audit.Write("revocation", {{"reason", "otp_failures"}, {"userId", failure.user_id},
                                          {"sessionId", failure.session_id}},
                           context_.clock.NowMillis());
    }
  }
}

}  // namespace authgate
