// SessionsFlow: a customer's own sessions (SPEC §10.4): the live sessions of the caller's
// account, newest first — at most kMaxListedSessions of them, the newest — and ending one of
// them. The caller proves itself as for logout: token
// and otp checked in full by the Authenticator, never from a memo. A session id that is not one
// of the caller's live sessions — another user's included — gets the one answer 404 Not_Found,
// so no caller learns that someone else's session exists; it is audited (session_end_refused,
// with the caller and at most 64 bytes of the id). An ended session is dropped from this
// instance's VerifyCache at once; other instances learn it from the change log.
//
// Blocks on the store: call it from the store pool. While StoreHealth says the store is down it
// answers 503 without trying it. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "service/authenticator.h"
#include "service/credentials.h"
#include "service/outcome.h"
#include "service/service_context.h"

namespace authgate {

// The most sessions one answer lists: the newest of them (the caller's own, just made by its
// login, among them). However many sessions an account has, an answer stays small (~700 kB);
// the older ones are ended with DELETE or `authgate user revoke NAME --all`.
inline constexpr int64_t kMaxListedSessions = 1000;

struct SessionList {
  int64_t user_id = 0;
  std::string current;                // the session of the presented token
  std::vector<SessionInfo> sessions;  // live, newest first, at most kMaxListedSessions
};

class SessionsFlow {
 public:
  SessionsFlow(ServiceContext context, Authenticator& authenticator)
      : context_(std::move(context)), authenticator_(authenticator) {}

  Outcome<SessionList> List(const RequestCredentials& credentials);
  // Ends `session_id` (as it appears in the path); `client` is the caller's address, audited.
  Outcome<Identity> End(const RequestCredentials& credentials, const std::string& session_id,
                        const std::string& client);

 private:
  const ServiceContext context_;
  Authenticator& authenticator_;
};

}  // namespace authgate
