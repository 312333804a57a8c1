#include "service/sessions_flow.h"

#include <algorithm>

namespace authgate {
namespace {

// Session ids are RandomId's: 32 lowercase hex digits. Anything else is no session of anyone's
// and never reaches the store.
bool IsPossibleSessionId(const std::string& id) {
  return id.size() == 32 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// What an audit line keeps of a refused id: the caller chose it, so at most twice a real id's
// length, letters, digits, '-' and '_' kept and every other byte one '?' (nothing for the
// audit log to escape or replace: the line holds at most these 64 bytes of it).
constexpr size_t kRefusedIdLoggedBytes = 64;

std::string LoggedRefusedId(const std::string& id) {
  std::string logged = id.substr(0, kRefusedIdLoggedBytes);
  for (char& c : logged) {
    const bool kept = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      c == '-' || c == '_';
    if (!kept) c = '?';
  }
  return logged;
}

}  // namespace

Outcome<SessionList> SessionsFlow::List(const RequestCredentials& credentials) {
  const int64_t now = context_.clock.NowSeconds();
  if (!context_.health.Up()) return Outcome<SessionList>::Unavailable();
  Outcome<Identity> caller = authenticator_.Authenticate(credentials, now);
  if (!caller.value) {
    return Outcome<SessionList>::Fail(caller.error.rejection, caller.error.code,
                                      caller.error.field);
  }
  Result<std::vector<SessionInfo>> listed = context_.store.ListSessions(
      caller.value->user_id, now, context_.settings.access_verifies_s(), kMaxListedSessions);
  if (!listed) {
    context_.health.CallFailed(listed.failure(), "sessions: list");
    return Outcome<SessionList>::Unavailable();
  }
  return Outcome<SessionList>::Success(
      SessionList{caller.value->user_id, caller.value->session_id, std::move(*listed)});
}

Outcome<Identity> SessionsFlow::End(const RequestCredentials& credentials,
                                    const std::string& session_id, const std::string& client) {
  const int64_t now = context_.clock.NowSeconds();
  if (!context_.health.Up()) return Outcome<Identity>::Unavailable();
  Outcome<Identity> caller = authenticator_.Authenticate(credentials, now);
  if (!caller.value) return caller;
  const Identity& identity = *caller.value;
  Result<SessionEnd> ended = IsPossibleSessionId(session_id)
                                 ? context_.store.EndSession(identity.user_id, session_id, now,
                                                             context_.settings.access_verifies_s())
                                 : Result<SessionEnd>(SessionEnd::kNoSuchSession);
  if (!ended) {
    context_.health.CallFailed(ended.failure(), "sessions: end one");
    return Outcome<Identity>::Unavailable();
  }
  if (*ended == SessionEnd::kNoSuchSession) {
    context_.audit.Write("session_end_refused",
                         {{"userId", identity.user_id},
                          {"sessionId", LoggedRefusedId(session_id)},
                          {"reason", "not_found"},
                          {"client", client}},
                         context_.clock.NowMillis());
    return Outcome<Identity>::Fail(Rejection::kNotFound, MessageCode::kNotFound);
  }
  context_.cache.InvalidateSession(session_id);
  context_.metrics.Count("revocations", "self");
  context_.audit.Write("session_ended", {{"userId", identity.user_id},
                                         {"sessionId", session_id},
                                         {"by", "self"},
                                         {"client", client}},
                       context_.clock.NowMillis());
  return caller;
}

}  // namespace authgate
