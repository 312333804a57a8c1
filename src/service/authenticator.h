// Authenticator: the verify path of SPEC §3 — is this bearer token, with this otp, a live
// session of an active user right now? It answers from VerifyCache when it can (this thread's
// memo first, then the shared token and state caches) and reads the store on a miss.
//
// Store use is explicit, because an event loop never waits (DESIGN):
//   - VerifyInMemory never calls the store, from any thread: it answers from memory or says
//     that the store is needed (a session or user not cached, a wrong otp to count).
//   - Verify and Authenticate may block on the store: call them from a worker pool. While
//     StoreHealth says the store is down they answer 503 at once instead of waiting; a store
//     call that fails opens that circuit.
//
// Wrong request otps are counted in the store, which revokes the session at the limit (SPEC
// §10.5); a correct code is accepted only while the failures counted plus those this process
// is still counting stay under the limit, so a right guess racing wrong ones cannot be the
// limit's (n+1)-th check. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "service/credentials.h"
#include "service/otp_failures_in_flight.h"
#include "service/outcome.h"
#include "service/service_context.h"

namespace authgate {

class Authenticator {
 public:
  explicit Authenticator(ServiceContext context);

  // The verify use case; counts every answer in the "verifications" metric. Worker pool.
  Outcome<Identity> Verify(const RequestCredentials& credentials);
  // The same from memory alone; nullopt when the answer needs the store. Any thread.
  std::optional<Outcome<Identity>> VerifyInMemory(const RequestCredentials& credentials);
  // The full check, without the memo and without counting a verification: for use cases that
  // act on the session (logout). Worker pool; the caller checks StoreHealth first.
  Outcome<Identity> Authenticate(const RequestCredentials& credentials, int64_t now);
  // Writes the wrong otps answered while the store was unreachable (each 503, and counted in
  // memory meanwhile) to the store; stops at the first failure and keeps the rest. Call after
  // a successful probe (the change follower's thread).
  void FlushDeferredOtpFailures();

 private:
  // Whether a call may use the store (on a worker pool) or must not (on an event loop).
  enum class StoreUse { kAllowed, kForbidden };
  // What a cached lookup came to when it was not found in memory. A store call that failed
  // has been told to StoreHealth (logged, counted, the circuit opened) where it failed.
  enum class Miss { kNone, kStoreFailed, kStoreNeeded, kSecretUnreadable };
  // The session a token names and, when that session is live and the token's user's, the user.
  struct Lookup {
    std::optional<CachedSession> session;
    std::shared_ptr<const CachedUser> user;
    Miss miss = Miss::kNone;
  };

  std::optional<Outcome<Identity>> VerifyWith(const RequestCredentials& credentials,
                                              StoreUse use);
  // The identity when the memo alone proves the request; nullopt sends it the full way
  // (which decides every failure).
  std::optional<Identity> MemoHit(const RequestCredentials& credentials, int64_t now);
  // The full check. On success, *memo_entry (when given) is filled when the session had no otp
  // failures. nullopt only with StoreUse::kForbidden, when the answer needs the store.
  std::optional<Outcome<Identity>> Check(const RequestCredentials& credentials, int64_t now,
                                         StoreUse use, VerifyMemo::Entry* memo_entry);
  // Check's second half: a token of a live session of an existing user; the otp decides.
  std::optional<Outcome<Identity>> CheckOtp(const RequestCredentials& credentials,
                                            const VerifiedToken& verified, const Lookup& lookup,
                                            int failures_in_flight, int64_t now, StoreUse use,
                                            VerifyMemo::Entry* memo_entry);
  // The claims of a well-signed token (cached by its bytes), or nullptr.
  std::shared_ptr<const VerifiedToken> ReadToken(std::string_view token, int64_t now);
  Lookup LookUp(const VerifiedToken& verified, StoreUse use);
  std::shared_ptr<const CachedUser> LoadUser(int64_t user_id, StoreUse use, Miss* miss);
  std::optional<CachedSession> LoadSession(const std::string& session_id, StoreUse use,
                                           Miss* miss);
  // A wrong request otp: counted in the store, which decides the answer (SPEC §10.5).
  Outcome<Identity> RejectRequestOtp(const std::string& session_id, int64_t user_id, int64_t now);
  // A wrong request otp while the store is known down: deferred (counted in memory), 503.
  Outcome<Identity> DeferRequestOtp(const std::string& session_id, int64_t user_id, int64_t now);

  const ServiceContext context_;
  OtpFailuresInFlight otp_failures_in_flight_;
  StripedCounter& verify_success_;
};

}  // namespace authgate
