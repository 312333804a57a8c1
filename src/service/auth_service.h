// AuthService: the use cases of SPEC.md §2–§3 (Login, Refresh, Logout, Verify). This is the one
// layer that combines core decisions with store calls; it knows nothing of HTTP beyond the
// class of each failure (Rejection), which the HTTP layer maps to a status code.
//
// Login, Refresh, Logout and Verify may block (Argon2id, store calls): call them from a worker
// pool. VerifyInMemory never touches the store: it is the event loops' entry (DESIGN: an event
// loop never waits), answering from the caches alone or saying that the store is needed.
// While StoreHealth says the store is down, every use case that needs it answers 503 at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/codes.h"
#include "core/crypto_box.h"
#include "core/jwt.h"
#include "core/lockout.h"
#include "core/password.h"
#include "core/requests.h"
#include "service/audit.h"
#include "service/key_ring.h"
#include "service/metrics.h"
#include "service/otp_failures_in_flight.h"
#include "service/password_verifier.h"
#include "service/state_cache.h"
#include "service/store_health.h"
#include "service/token_cache.h"
#include "service/verify_memo.h"
#include "store/store.h"

namespace authgate {

struct ServiceSettings {
  LockoutPolicy lockout;
  PasswordParams password;
  JwtPolicy jwt;
  int64_t access_ttl_s = 3600;
  int64_t refresh_ttl_s = 86400;
  int skew_steps = 1;
};

enum class Rejection { kBadRequest, kUnauthorized, kForbidden, kUnavailable };

struct ServiceError {
  Rejection rejection = Rejection::kBadRequest;
  MessageCode code = MessageCode::kInternalError;
  std::string field;
};

template <typename T>
struct Outcome {
  std::optional<T> value;
  ServiceError error;  // meaningful only when !value

  static Outcome Fail(Rejection rejection, MessageCode code, std::string field = "") {
    Outcome outcome;
    outcome.error = {rejection, code, std::move(field)};
    return outcome;
  }
};

struct TokenGrant {
  int64_t user_id = 0;
  std::string access_token;
  int64_t expires_in = 0;
  std::string refresh_token;
  int64_t refresh_expires_in = 0;
};

struct Identity {
  int64_t user_id = 0;
  std::string username;
  std::string session_id;
  int64_t expires_at = 0;
};

// The credentials of a private request, as found in its headers (each header's values).
struct RequestCredentials {
  // The first value of each field (views into the caller's request) and how many values came:
  // a field sent more than once is refused.
  std::string_view authorization;
  size_t authorization_count = 0;
  std::string_view otp;
  size_t otp_count = 0;
};

// The sealing context of a user's TOTP secret (binds the ciphertext to the username).
std::string TotpAssociatedData(const std::string& username);

class AuthService {
 public:
  AuthService(Store& store, const CryptoBox& box, KeyRing& keys, StateCache& cache,
              Metrics& metrics, AuditLog& audit, const Clock& clock, PasswordVerifier& passwords,
              ServiceSettings settings);

  Outcome<TokenGrant> Login(const LoginRequest& request, const std::string& client);
  Outcome<TokenGrant> Refresh(const RefreshRequest& request, const std::string& client);
  Outcome<Identity> Verify(const RequestCredentials& credentials);
  // Verify from memory alone; nullopt when the answer needs the store (a session or user not
  // cached, a wrong otp to count): then call Verify on a worker pool. Any thread.
  std::optional<Outcome<Identity>> VerifyInMemory(const RequestCredentials& credentials);
  // False while the store is known to be unreachable (work that needs it would answer 503).
  bool StoreUp() const { return health_.Up(); }
  StoreHealth& health() { return health_; }
  Outcome<Identity> Logout(const RequestCredentials& credentials, const std::string& client);

  // Applies the store's change log to the cache and key ring; returns false on a store error.
  // Its verdict is StoreHealth's probe: call it regularly from one background thread.
  bool FollowChanges();
  uint64_t store_errors() const { return store_errors_.load(); }

 private:
  // A store call failed: counted, and the circuit opens (StoreHealth).
  template <typename T>
  Outcome<T> Unavailable();
  // The store is known to be down: 503 without trying it.
  template <typename T>
  Outcome<T> StoreDown();
  Outcome<TokenGrant> Grant(int64_t user_id, const std::string& session_id,
                            const std::string& refresh_token, int64_t now);
  // Whether a call may use the store (on a worker pool) or must not (on an event loop).
  enum class StoreUse { kAllowed, kForbidden };
  std::optional<Outcome<Identity>> VerifyWith(const RequestCredentials& credentials, StoreUse use);
  // On success, *memo_entry (when given) is filled for VerifyMemo when the session had no otp
  // failures; otherwise it is left without a user. nullopt only with StoreUse::kForbidden, when
  // the answer needs the store.
  std::optional<Outcome<Identity>> Authenticate(const RequestCredentials& credentials, int64_t now,
                                                StoreUse use,
                                                VerifyMemo::Entry* memo_entry = nullptr);
  // The claims of a well-signed token (cached by its bytes), or nullptr.
  std::shared_ptr<const VerifiedToken> ReadToken(std::string_view token, int64_t now);
  // This thread's memo for this service: the verify fast path.
  VerifyMemo& ThreadMemo();
  // The identity when `token` and `otp` succeed from this thread's memo alone; nullopt sends
  // the request through the full verification (which decides every failure).
  std::optional<Identity> MemoHit(std::string_view token, std::string_view otp, int64_t now);
  // What a cached lookup came to when it was not found in memory.
  enum class Miss { kNone, kStoreFailed, kStoreNeeded, kSecretUnreadable };
  std::shared_ptr<const CachedUser> LoadUser(int64_t user_id, StoreUse use, Miss* miss);
  std::optional<CachedSession> LoadSession(const std::string& session_id, StoreUse use,
                                           Miss* miss);
  void FailLogin(const std::string& username, int64_t now, const std::string& client,
                 const char* reason);
  // The answer for a name no account can have: that of an unknown name, with nothing stored.
  Outcome<TokenGrant> RefuseImpossibleName(const LoginRequest& request, const std::string& client);
  // After the password was proven: checks the login otp and completes the login.
  Outcome<TokenGrant> LoginWithProvenPassword(const LoginRequest& request, const UserRecord& user,
                                              int64_t now, const std::string& client);
  // A wrong request otp: counted in the store, which decides the answer (SPEC §10.5).
  Outcome<Identity> RejectRequestOtp(const std::string& session_id, int64_t user_id, int64_t now);

  Store& store_;
  const CryptoBox& box_;
  KeyRing& keys_;
  StateCache& cache_;
  Metrics& metrics_;
  AuditLog& audit_;
  const Clock& clock_;
  PasswordVerifier& passwords_;
  const ServiceSettings settings_;
  std::string dummy_hash_;
  TokenCache tokens_;
  OtpFailuresInFlight otp_failures_in_flight_;
  StripedCounter& verify_success_;
  const uint64_t instance_id_;  // names this service's VerifyMemo on each thread
  std::atomic<uint64_t> store_errors_{0};
  StoreHealth health_;
  std::atomic<int64_t> change_seq_{-1};
};

}  // namespace authgate
