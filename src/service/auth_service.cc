#include "service/auth_service.h"

#include <sodium.h>

#include <cctype>
#include <charconv>

#include <spdlog/spdlog.h>

#include "core/encoding.h"
#include "core/random.h"
#include "core/totp.h"
#include "core/username.h"

namespace authgate {
namespace {

std::string RefreshTokenHash(const std::string& token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  return HexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

MessageCode StatusCode(AccountStatus status) {
  return status == AccountStatus::kUnverified ? MessageCode::kAccountNotVerified
                                              : MessageCode::kAccountSuppressed;
}

// "Bearer <token>": the scheme is case-insensitive (RFC 7235 §2.1); nothing else may follow.
std::optional<std::string_view> BearerToken(std::string_view header) {
  constexpr std::string_view kScheme = "bearer";
  if (header.size() <= kScheme.size() + 1) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(header[i])) != kScheme[i]) return std::nullopt;
  }
  std::string_view rest = header.substr(kScheme.size());
  if (rest.front() != ' ') return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  if (rest.empty() || rest.find(' ') != std::string_view::npos) return std::nullopt;
  return rest;
}

}  // namespace

std::string TotpAssociatedData(const std::string& username) { return "totp:" + username; }

namespace {
uint64_t NextInstanceId() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}
}  // namespace

AuthService::AuthService(Store& store, const CryptoBox& box, KeyRing& keys, StateCache& cache,
                         Metrics& metrics, AuditLog& audit, const Clock& clock,
                         PasswordVerifier& passwords, ServiceSettings settings)
    : store_(store),
      box_(box),
      keys_(keys),
      cache_(cache),
      metrics_(metrics),
      audit_(audit),
      clock_(clock),
      passwords_(passwords),
      settings_(std::move(settings)),
      verify_success_(metrics.Counter("verifications", "success")),
      instance_id_(NextInstanceId()) {
  // Unknown usernames verify against this hash, so they take as long as wrong passwords.
  Result<std::string> dummy = HashPassword(RandomPassword(24), settings_.password);
  if (dummy) dummy_hash_ = *dummy;
}

template <typename T>
Outcome<T> AuthService::Unavailable() {
  store_errors_.fetch_add(1);
  health_.CallFailed();
  return StoreDown<T>();
}

template <typename T>
Outcome<T> AuthService::StoreDown() {
  return Outcome<T>::Fail(Rejection::kUnavailable, MessageCode::kServiceUnavailable);
}

void AuthService::FailLogin(const std::string& username, int64_t now, const std::string& client,
                            const char* reason) {
  Result<AttemptState> after = store_.RecordLoginFailure(username, now, settings_.lockout);
  if (!after) {
    store_errors_.fetch_add(1);
    health_.CallFailed();
  }
  metrics_.Count("logins", reason);
  audit_.Write("login", {{"result", "failure"}, {"reason", reason}, {"username", username},
                         {"client", client}},
               clock_.NowMillis());
  if (after && IsLocked(*after, now) && after->locked_until == now + settings_.lockout.duration_s) {
    metrics_.Count("locks", "failed_attempts");
    audit_.Write("lock", {{"username", username}, {"until", after->locked_until},
                          {"client", client}},
                 clock_.NowMillis());
  }
}

Outcome<TokenGrant> AuthService::RefuseImpossibleName(const LoginRequest& request,
                                                      const std::string& client) {
  passwords_.Verify(dummy_hash_, request.password);  // the time an unknown name takes
  metrics_.Count("logins", "invalid_username");
  audit_.Write("login", {{"result", "failure"}, {"reason", "invalid_username"},
                         {"username", std::string(UsernameForLog(request.username))},
                         {"client", client}},
               clock_.NowMillis());
  return Outcome<TokenGrant>::Fail(Rejection::kBadRequest,
                                   MessageCode::kUsernameOrPasswordIncorrect);
}

Outcome<TokenGrant> AuthService::Login(const LoginRequest& request, const std::string& client) {
  const int64_t now = clock_.NowSeconds();
  const std::string& username = request.username;
  if (!IsPossibleUsername(username)) return RefuseImpossibleName(request, client);
  if (!health_.Up()) return StoreDown<TokenGrant>();
  Result<Admission> admission = store_.AdmitLoginAttempt(username, now, settings_.lockout);
  if (!admission) return Unavailable<TokenGrant>();
  if (*admission == Admission::kLocked) {
    metrics_.Count("logins", "locked");
    audit_.Write("login", {{"result", "failure"}, {"reason", "locked"}, {"username", username},
                           {"client", client}},
                 clock_.NowMillis());
    return Outcome<TokenGrant>::Fail(Rejection::kBadRequest, MessageCode::kAccountLocked);
  }
  Result<std::optional<UserRecord>> found = store_.FindUserByName(username);
  if (!found) return Unavailable<TokenGrant>();
  const char* failure = nullptr;
  if (!found->has_value()) {
    passwords_.Verify(dummy_hash_, request.password);
    failure = "unknown_user";
  } else if (!passwords_.Verify((*found)->password_hash, request.password)) {
    failure = "wrong_password";
  }
  if (failure == nullptr) return LoginWithProvenPassword(request, **found, now, client);
  FailLogin(username, now, client, failure);
  return Outcome<TokenGrant>::Fail(Rejection::kBadRequest,
                                   MessageCode::kUsernameOrPasswordIncorrect);
}

// Every answer here but success and the account's status must be the one a wrong password
// gets (SPEC §10.5): whoever holds a leaked password learns nothing without the second factor.
Outcome<TokenGrant> AuthService::LoginWithProvenPassword(const LoginRequest& request,
                                                         const UserRecord& user, int64_t now,
                                                         const std::string& client) {
  const std::string& username = user.username;  // as stored: the sealing context
  const auto incorrect = [&](const char* reason) {
    FailLogin(username, now, client, reason);
    return Outcome<TokenGrant>::Fail(Rejection::kBadRequest,
                                     MessageCode::kUsernameOrPasswordIncorrect);
  };
  Result<SecretBytes> secret = box_.Open(user.totp_secret_sealed, TotpAssociatedData(username));
  if (!secret) {
    spdlog::error("login of user id {}: its TOTP secret cannot be unsealed (another master key, "
                  "or a damaged row); answered as a wrong credential",
                  user.id);
    return incorrect("secret_unreadable");
  }
  std::optional<int64_t> step = MatchTotp(*secret, request.otp, now, settings_.skew_steps);
  if (!step) return incorrect("wrong_otp");

  if (user.status != AccountStatus::kActive) {
    // The credentials were proven: this is not a failed attempt, but no token is issued.
    if (!store_.RecordLoginSuccess(username)) store_errors_.fetch_add(1);
    metrics_.Count("logins", AccountStatusName(user.status));
    audit_.Write("login", {{"result", "failure"}, {"reason", AccountStatusName(user.status)},
                           {"username", username}, {"userId", user.id}, {"client", client}},
                 clock_.NowMillis());
    return Outcome<TokenGrant>::Fail(Rejection::kBadRequest, StatusCode(user.status));
  }
  // The otp step, the reset of the failure count and the session: one transaction.
  std::string session_id = RandomId();
  std::string refresh_token = RandomToken();
  Result<bool> completed =
      store_.CompleteLogin(username, user.id, *step, session_id, RefreshTokenHash(refresh_token),
                           now + settings_.refresh_ttl_s, now);
  if (!completed) return Unavailable<TokenGrant>();
  if (!*completed) return incorrect("otp_reused");

  if (PasswordNeedsRehash(user.password_hash, settings_.password)) {
    Result<std::string> rehashed = HashPassword(request.password, settings_.password);
    if (rehashed && !store_.UpdatePasswordHash(user.id, *rehashed)) store_errors_.fetch_add(1);
  }
  metrics_.Count("logins", "success");
  audit_.Write("login", {{"result", "success"}, {"username", username}, {"userId", user.id},
                         {"sessionId", session_id}, {"client", client}},
               clock_.NowMillis());
  return Grant(user.id, session_id, refresh_token, now);
}

Outcome<TokenGrant> AuthService::Grant(int64_t user_id, const std::string& session_id,
                                       const std::string& refresh_token, int64_t now) {
  std::shared_ptr<const KeySet> keys = keys_.Snapshot();
  if (!keys->signing) return StoreDown<TokenGrant>();  // keys not loaded yet
  JwtClaims claims;
  claims.iss = settings_.jwt.issuer;
  claims.aud = settings_.jwt.audience;
  claims.sub = std::to_string(user_id);
  claims.sid = session_id;
  claims.jti = RandomId();
  claims.iat = now;
  claims.exp = now + settings_.access_ttl_s;
  TokenGrant grant;
  grant.user_id = user_id;
  grant.access_token = SignJwt(claims, *keys->signing);
  grant.expires_in = settings_.access_ttl_s;
  grant.refresh_token = refresh_token;
  grant.refresh_expires_in = settings_.refresh_ttl_s;
  Outcome<TokenGrant> outcome;
  outcome.value = std::move(grant);
  return outcome;
}

Outcome<TokenGrant> AuthService::Refresh(const RefreshRequest& request,
                                         const std::string& client) {
  const int64_t now = clock_.NowSeconds();
  if (!health_.Up()) return StoreDown<TokenGrant>();
  std::string new_token = RandomToken();
  Result<RotationResult> rotation =
      store_.RotateRefreshToken(RefreshTokenHash(request.refresh_token),
                                RefreshTokenHash(new_token), now + settings_.refresh_ttl_s, now);
  if (!rotation) return Unavailable<TokenGrant>();
  const auto invalid = [&](const char* reason) {
    metrics_.Count("refreshes", reason);
    audit_.Write("refresh", {{"result", "failure"}, {"reason", reason}, {"client", client},
                             {"sessionId", rotation->session_id}},
                 clock_.NowMillis());
    return Outcome<TokenGrant>::Fail(Rejection::kUnauthorized, MessageCode::kTokenInvalid,
                                     "refreshToken");
  };
  switch (rotation->outcome) {
    case RotationOutcome::kUnknown: return invalid("unknown");
    case RotationOutcome::kExpired: return invalid("expired");
    case RotationOutcome::kRevoked: return invalid("revoked");
    case RotationOutcome::kReuseDetected:
      cache_.InvalidateSession(rotation->session_id);
      metrics_.Count("refresh_reuse", "rotated_token_presented");
      metrics_.Count("revocations", "refresh_reuse");
      audit_.Write("revocation", {{"reason", "refresh_reuse"}, {"userId", rotation->user_id},
                                  {"sessionId", rotation->session_id}, {"client", client}},
                   clock_.NowMillis());
      return invalid("reuse_detected");
    case RotationOutcome::kAccountBlocked:
      metrics_.Count("refreshes", AccountStatusName(rotation->status));
      return Outcome<TokenGrant>::Fail(Rejection::kBadRequest, StatusCode(rotation->status));
    case RotationOutcome::kRotated: break;
  }
  metrics_.Count("refreshes", "success");
  audit_.Write("refresh", {{"result", "success"}, {"userId", rotation->user_id},
                           {"sessionId", rotation->session_id}, {"client", client}},
               clock_.NowMillis());
  return Grant(rotation->user_id, rotation->session_id, new_token, now);
}

std::shared_ptr<const CachedUser> AuthService::LoadUser(int64_t user_id, StoreUse use,
                                                         Miss* miss) {
  std::shared_ptr<const CachedUser> cached = cache_.FindUser(user_id);
  if (cached) return cached;
  if (use == StoreUse::kForbidden) {
    *miss = Miss::kStoreNeeded;
    return nullptr;
  }
  uint64_t generation = cache_.Generation();
  Result<std::optional<UserRecord>> found = store_.FindUserById(user_id);
  if (!found) {
    *miss = Miss::kStoreFailed;
    return nullptr;
  }
  if (!found->has_value()) return nullptr;
  const UserRecord& record = **found;
  Result<SecretBytes> secret =
      box_.Open(record.totp_secret_sealed, TotpAssociatedData(record.username));
  if (!secret) {
    spdlog::error("user id {}: its TOTP secret cannot be unsealed (another master key, or a "
                  "damaged row)",
                  record.id);
    *miss = Miss::kSecretUnreadable;
    return nullptr;
  }
  auto user = std::make_shared<CachedUser>();
  user->id = record.id;
  user->username = record.username;
  user->status = record.status;
  user->totp_secret = std::move(*secret);
  cache_.PutUser(user, generation);
  return user;
}

std::optional<CachedSession> AuthService::LoadSession(const std::string& session_id,
                                                      StoreUse use, Miss* miss) {
  std::optional<CachedSession> cached = cache_.FindSession(session_id);
  if (cached) return cached;
  if (use == StoreUse::kForbidden) {
    *miss = Miss::kStoreNeeded;
    return std::nullopt;
  }
  uint64_t generation = cache_.Generation();
  Result<std::optional<SessionRecord>> found = store_.FindSession(session_id);
  if (!found) {
    *miss = Miss::kStoreFailed;
    return std::nullopt;
  }
  if (!found->has_value()) return std::nullopt;
  CachedSession session{(*found)->user_id, (*found)->revoked, (*found)->otp_failure_times};
  cache_.PutSession(session_id, session, generation);
  return session;
}

std::shared_ptr<const VerifiedToken> AuthService::ReadToken(std::string_view token, int64_t now) {
  std::shared_ptr<const VerifiedToken> verified = tokens_.Find(token);
  if (verified) return verified;
  std::shared_ptr<const KeySet> keys = keys_.Snapshot();
  JwtVerification verification = VerifyJwt(
      token, settings_.jwt, [&](std::string_view kid) { return keys->Find(kid, now); }, now);
  if (verification.status == JwtStatus::kInvalid) return nullptr;
  const JwtClaims& claims = verification.claims;
  auto entry = std::make_shared<VerifiedToken>();
  auto parsed =
      std::from_chars(claims.sub.data(), claims.sub.data() + claims.sub.size(), entry->user_id);
  if (parsed.ec != std::errc()) return nullptr;
  entry->session_id = claims.sid;
  entry->exp = claims.exp;
  tokens_.Put(token, entry);
  return entry;
}

std::optional<Outcome<Identity>> AuthService::Authenticate(const RequestCredentials& credentials,
                                                           int64_t now, StoreUse use,
                                                           VerifyMemo::Entry* memo_entry) {
  using Fail = Outcome<Identity>;
  if (credentials.authorization_count == 0) {
    return Fail::Fail(Rejection::kUnauthorized, MessageCode::kRequired, "Authorization");
  }
  const Fail invalid =
      Fail::Fail(Rejection::kUnauthorized, MessageCode::kTokenInvalid, "Authorization");
  if (credentials.authorization_count != 1) return invalid;
  std::optional<std::string_view> token = BearerToken(credentials.authorization);
  std::shared_ptr<const VerifiedToken> verified = token ? ReadToken(*token, now) : nullptr;
  if (!verified) return invalid;
  const int64_t user_id = verified->user_id;
  const std::string& session_id = verified->session_id;
  const bool expired = verified->exp <= now - settings_.jwt.leeway_s;

  const int failures_in_flight = otp_failures_in_flight_.Count(session_id);
  Miss miss = Miss::kNone;
  std::optional<CachedSession> session = LoadSession(session_id, use, &miss);
  std::shared_ptr<const CachedUser> user;
  if (session && !session->revoked && session->user_id == user_id) {
    user = LoadUser(user_id, use, &miss);
  }
  if (miss == Miss::kStoreNeeded) return std::nullopt;
  if (miss == Miss::kStoreFailed) return Unavailable<Identity>();
  if (miss == Miss::kSecretUnreadable) return StoreDown<Identity>();  // this user only
  // A session is pruned only once every token of it has expired (Store::Prune): its expired
  // access token still answers as one.
  if (!session) {
    if (!expired) return invalid;
    return Fail::Fail(Rejection::kUnauthorized, MessageCode::kTokenExpired, "Authorization");
  }
  if (!user) return invalid;  // revoked, another user's session, or the user is gone
  if (expired) {
    return Fail::Fail(Rejection::kUnauthorized, MessageCode::kTokenExpired, "Authorization");
  }
  if (credentials.otp_count == 0 || credentials.otp.empty()) {
    return Fail::Fail(Rejection::kUnauthorized, MessageCode::kRequired, "otp");
  }
  bool otp_ok = credentials.otp_count == 1 &&
                user->MatchRequestOtp(credentials.otp, now, settings_.skew_steps);
  if (!otp_ok) {
    if (use == StoreUse::kForbidden) return std::nullopt;  // the failure is counted in the store
    return RejectRequestOtp(session_id, user_id, now);
  }
  // A correct code counts only while the wrong ones counted or being counted for this session
  // stay under the limit; `failures_in_flight` was read before the session was loaded.
  const int recent_failures = RecentOtpFailures(session->otp_failure_times, now, settings_.lockout);
  if (recent_failures + failures_in_flight >= settings_.lockout.max_failed_attempts) return invalid;
  if (user->status != AccountStatus::kActive) {
    return Fail::Fail(Rejection::kForbidden, StatusCode(user->status));
  }
  if (memo_entry != nullptr && recent_failures == 0) {
    memo_entry->user_id = user_id;
    memo_entry->username = user->username;
    memo_entry->session_id = session_id;
    memo_entry->exp = verified->exp;
    memo_entry->user = user;
  }
  Outcome<Identity> outcome;
  outcome.value = Identity{user_id, user->username, session_id, verified->exp};
  return outcome;
}

Outcome<Identity> AuthService::RejectRequestOtp(const std::string& session_id, int64_t user_id,
                                                int64_t now) {
  // In flight before the store knows it: every thread's memo and this session's cached state
  // are dropped, so concurrent correct codes take the full path and see it.
  otp_failures_in_flight_.Begin(session_id);
  cache_.InvalidateSession(session_id);
  Result<OtpFailureOutcome> counted =
      store_.RecordOtpFailure(session_id, settings_.lockout, now);
  cache_.InvalidateSession(session_id);
  otp_failures_in_flight_.End(session_id);
  if (!counted) return Unavailable<Identity>();
  if (*counted == OtpFailureOutcome::kNotCounted) {
    // Revoked meanwhile (the limit was reached by others): this guess is not answered.
    return Outcome<Identity>::Fail(Rejection::kUnauthorized, MessageCode::kTokenInvalid,
                                   "Authorization");
  }
  if (*counted == OtpFailureOutcome::kRevoked) {
    metrics_.Count("revocations", "otp_failures");
    audit_.Write("revocation", {{"reason", "otp_failures"}, {"userId", user_id},
                                {"sessionId", session_id}},
                 clock_.NowMillis());
  }
  return Outcome<Identity>::Fail(Rejection::kUnauthorized, MessageCode::kOtpIncorrect, "otp");
}

VerifyMemo& AuthService::ThreadMemo() {
  // One memo per thread, for the service that used it last on that thread (several services
  // only exist in tests; switching empties it).
  thread_local struct {
    uint64_t owner = 0;
    std::unique_ptr<VerifyMemo> memo;
  } slot;
  if (slot.owner != instance_id_) {
    slot.memo = std::make_unique<VerifyMemo>();
    slot.owner = instance_id_;
  }
  return *slot.memo;
}

std::optional<Identity> AuthService::MemoHit(std::string_view token, std::string_view otp,
                                             int64_t now) {
  VerifyMemo& memo = ThreadMemo();
  memo.Sync(cache_.Generation());
  VerifyMemo::Entry* entry = memo.Find(token);
  if (entry == nullptr || entry->exp <= now - settings_.jwt.leeway_s) return std::nullopt;
  if (!MatchCurrentTotpWindow(&entry->otp_window, entry->user->totp_secret, otp, now,
                              settings_.skew_steps)) {
    return std::nullopt;
  }
  return Identity{entry->user_id, entry->username, entry->session_id, entry->exp};
}

std::optional<Outcome<Identity>> AuthService::VerifyWith(const RequestCredentials& credentials,
                                                         StoreUse use) {
  const int64_t now = clock_.NowSeconds();
  // The memo answers only well-formed requests (one Bearer token, one otp); anything else, and
  // every failure, takes the full path.
  std::optional<std::string_view> token;
  if (credentials.authorization_count == 1) token = BearerToken(credentials.authorization);
  if (token && credentials.otp_count == 1) {
    if (std::optional<Identity> identity = MemoHit(*token, credentials.otp, now)) {
      verify_success_.Add();
      Outcome<Identity> outcome;
      outcome.value = std::move(identity);
      return outcome;
    }
  }
  if (use == StoreUse::kAllowed && !health_.Up()) return StoreDown<Identity>();
  const uint64_t generation = cache_.Generation();  // before the lookups
  VerifyMemo::Entry entry;
  std::optional<Outcome<Identity>> outcome = Authenticate(credentials, now, use, &entry);
  if (!outcome) return std::nullopt;
  if (outcome->value) {
    verify_success_.Add();
    if (entry.user) ThreadMemo().Put(*token, std::move(entry), generation);  // success: token set
  } else {
    metrics_.Count("verifications", MessageCodeName(outcome->error.code));
  }
  return outcome;
}

Outcome<Identity> AuthService::Verify(const RequestCredentials& credentials) {
  return *VerifyWith(credentials, StoreUse::kAllowed);
}

std::optional<Outcome<Identity>> AuthService::VerifyInMemory(
    const RequestCredentials& credentials) {
  return VerifyWith(credentials, StoreUse::kForbidden);
}

Outcome<Identity> AuthService::Logout(const RequestCredentials& credentials,
                                      const std::string& client) {
  const int64_t now = clock_.NowSeconds();
  if (!health_.Up()) return StoreDown<Identity>();
  Outcome<Identity> outcome = *Authenticate(credentials, now, StoreUse::kAllowed);
  if (!outcome.value) {
    metrics_.Count("logouts", MessageCodeName(outcome.error.code));
    return outcome;
  }
  Result<bool> revoked = store_.RevokeSession(outcome.value->session_id, now);
  if (!revoked) return Unavailable<Identity>();
  cache_.InvalidateSession(outcome.value->session_id);
  metrics_.Count("logouts", "success");
  metrics_.Count("revocations", "logout");
  audit_.Write("logout", {{"userId", outcome.value->user_id},
                          {"sessionId", outcome.value->session_id}, {"client", client}},
               clock_.NowMillis());
  return outcome;
}

bool AuthService::FollowChanges() {
  int64_t seen = change_seq_.load();
  if (seen < 0) {
    // First call: start from the log's end; the cache is empty, nothing older can be stale.
    Result<int64_t> latest = store_.LatestChangeSeq();
    health_.Probed(latest.ok());
    if (!latest) return false;
    change_seq_.store(*latest);
    return true;
  }
  Result<std::vector<Change>> changes = store_.ChangesSince(seen);
  health_.Probed(changes.ok());  // the background probe of SPEC §10.1
  if (!changes) return false;
  bool keys_changed = false;
  for (const Change& change : *changes) {
    switch (change.kind) {
      case ChangeKind::kUser: {
        int64_t id = 0;
        auto parsed = std::from_chars(change.ref.data(), change.ref.data() + change.ref.size(), id);
        if (parsed.ec == std::errc()) cache_.InvalidateUser(id);
        else cache_.Clear();
        break;
      }
      case ChangeKind::kSession: cache_.InvalidateSession(change.ref); break;
      case ChangeKind::kKeys: keys_changed = true; break;
    }
    seen = change.seq;
  }
  if (keys_changed) {
    if (!keys_.Load()) return false;
    tokens_.Clear();  // a key may have left: verify every token again
    cache_.Clear();   // and bump the generation, which empties every thread's VerifyMemo
  }
  change_seq_.store(seen);
  return true;
}

}  // namespace authgate
