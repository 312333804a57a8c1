// AuthService: the use cases of SPEC §2–§3 and §10.4 behind one front for the HTTP layer, which
// knows nothing of HTTP beyond the class of each failure (Rejection). It only routes: each use
// case lives in its own unit (login_flow, refresh_flow, logout_flow, sessions_flow,
// authenticator), over one VerifyCache and one StoreHealth. Change following (change_follower.h) runs beside it, on the
// cache and health it is given.
//
// Login, Refresh, Logout and Verify may block (Argon2id, store calls): call them from a worker
// pool. VerifyInMemory never touches the store: it is the event loops' entry (DESIGN: an event
// loop never waits). While StoreHealth says the store is down, every use case that needs the
// store answers 503 at once. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/requests.h"
#include "service/authenticator.h"
#include "service/credentials.h"
#include "service/login_flow.h"
#include "service/logout_flow.h"
#include "service/metrics.h"
#include "service/outcome.h"
#include "service/password_verifier.h"
#include "service/refresh_flow.h"
#include "service/sessions_flow.h"
#include "service/service_context.h"
#include "service/store_health.h"
#include "service/totp_sealing.h"

namespace authgate {

class AuthService {
 public:
  AuthService(Store& store, const CryptoBox& box, const KeyRing& keys, VerifyCache& cache,
              Metrics& metrics, AuditLog& audit, const Clock& clock, PasswordVerifier& passwords,
              ServiceSettings settings);

  Outcome<TokenGrant> Login(const LoginRequest& request, const std::string& client,
                            std::string_view user_agent = {}) {
    return login_.Login(request, client, user_agent);
  }
  Outcome<TokenGrant> Refresh(const RefreshRequest& request, const std::string& client) {
    return refresh_.Refresh(request, client);
  }
  Outcome<Identity> Verify(const RequestCredentials& credentials) {
    return authenticator_.Verify(credentials);
  }
  // Verify from memory alone; nullopt when the answer needs the store: then call Verify on a
  // worker pool. Any thread.
  std::optional<Outcome<Identity>> VerifyInMemory(const RequestCredentials& credentials) {
    return authenticator_.VerifyInMemory(credentials);
  }
  Outcome<Identity> Logout(const RequestCredentials& credentials, const std::string& client) {
    return logout_.Logout(credentials, client);
  }
  // SPEC §10.4: the caller's live sessions; ending one of them.
  Outcome<SessionList> ListSessions(const RequestCredentials& credentials) {
    return sessions_.List(credentials);
  }
  Outcome<Identity> EndSession(const RequestCredentials& credentials,
                               const std::string& session_id, const std::string& client) {
    return sessions_.End(credentials, session_id, client);
  }

  // Counts in the store the wrong otps answered while it was unreachable (Authenticator).
  void FlushDeferredOtpFailures() { authenticator_.FlushDeferredOtpFailures(); }
  // False while the store is known to be unreachable (work that needs it would answer 503).
  bool StoreUp() const { return health_.Up(); }
  // What /readyz reports: the store answers reads and commits writes (StoreHealth::Ready).
  bool StoreReady() const { return health_.Ready(std::chrono::steady_clock::now()); }
  // The circuit and the write half, for the background probes.
  StoreHealth& health() { return health_; }
  // For /metrics: failed store calls and the probes' verdicts.
  StoreGauges store_gauges() const {
    return {health_.errors(), health_.Up(), health_.Writable(std::chrono::steady_clock::now()),
            context_.store.CommitGroups()};
  }

 private:
  StoreHealth health_;
  const ServiceContext context_;  // on health_, so declared after it
  Authenticator authenticator_;
  LoginFlow login_;
  RefreshFlow refresh_;
  LogoutFlow logout_;
  SessionsFlow sessions_;
};

}  // namespace authgate
