// AuthService: the use cases of SPEC.md §2–§3 (Login, Refresh, Logout, Verify). This is the one
// layer that combines core decisions with store calls; it knows nothing of HTTP beyond the
// class of each failure (Rejection), which the HTTP layer maps to a status code.
//
// Login and Refresh block (Argon2id, store writes): call them from a worker pool. Verify needs
// no store round-trip when the session and user are cached.
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
  Outcome<Identity> Logout(const RequestCredentials& credentials, const std::string& client);

  // Applies the store's change log to the cache and key ring; returns false on a store error.
  bool FollowChanges();
  uint64_t store_errors() const { return store_errors_.load(); }

 private:
  template <typename T>
  Outcome<T> Unavailable();
  Outcome<TokenGrant> Grant(int64_t user_id, const std::string& session_id,
                            const std::string& refresh_token, int64_t now);
  // On success, *memo_entry (when given) is filled for VerifyMemo when the session had no otp
  // failures; otherwise it is left without a user.
  Outcome<Identity> Authenticate(const RequestCredentials& credentials, int64_t now,
                                 VerifyMemo::Entry* memo_entry = nullptr);
  // This thread's memo for this service: the verify fast path.
  VerifyMemo& ThreadMemo();
  // The identity when `token` and `otp` succeed from this thread's memo alone; nullopt sends
  // the request through the full verification (which decides every failure).
  std::optional<Identity> MemoHit(std::string_view token, std::string_view otp, int64_t now);
  std::shared_ptr<const CachedUser> LoadUser(int64_t user_id, bool* store_failed);
  std::optional<CachedSession> LoadSession(const std::string& session_id, bool* store_failed);
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
  std::atomic<int64_t> change_seq_{-1};
};

}  // namespace authgate
