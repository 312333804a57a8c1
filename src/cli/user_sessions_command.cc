// `authgate user sessions` and `authgate user revoke` (SPEC §10.4): the operator's view of a
// user's live sessions (the API's fields, without `current`; every one of them, not only the
// API's newest kMaxListedSessions) and the ending of one or all of them. An ended session is
// refused by running servers through the store's change log; each revoke writes an operator audit
// line.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/session_table.h"
#include "core/clock.h"

namespace authgate::cli {
namespace {

using nlohmann::json;

// How long an access token of the configured servers verifies: it keeps a session live.
int64_t AccessTtl(const Context& context) { return context.config.tokens.access_verifies_s(); }

Status ListUserSessions(Context& context, const std::string& username, bool as_json) {
  Result<UserRecord> user = RequireUser(*context.store, username);
  if (!user) return user.failure();
  Result<std::vector<SessionInfo>> sessions = context.store->ListSessions(
      user->id, SystemClock().NowSeconds(), AccessTtl(context), kEverySession);
  if (!sessions) return sessions.failure();
  json listed = json::array();
  for (const SessionInfo& session : *sessions) listed.push_back(SessionJson(session));
  if (as_json) {
    std::cout << JsonText(json{{"sessions", std::move(listed)}}) << std::endl;
  } else {
    PrintSessionTable(std::cout, listed, false);
  }
  return Status::Ok();
}

struct RevokeOptions {
  std::string name;
  std::string session;
  bool all = false;
};

Status EndOneSession(Context& context, const UserRecord& user, const std::string& session_id) {
  Result<SessionEnd> ended = context.store->EndSession(
      user.id, session_id, SystemClock().NowSeconds(), AccessTtl(context));
  if (!ended) return ended.failure();
  if (*ended == SessionEnd::kNoSuchSession) {
    return Error{"'" + user.username + "' has no live session '" + session_id + "'",
                 ErrorCode::kNotFound};
  }
  AuditOperatorAction(context, "revocation", user.username, "session " + session_id + " ended");
  std::cout << "ended session " << session_id << " of " << user.username << std::endl;
  return Status::Ok();
}

Status EndEverySession(Context& context, const UserRecord& user) {
  Result<int64_t> ended =
      context.store->EndAllSessions(user.id, SystemClock().NowSeconds(), AccessTtl(context));
  if (!ended) return ended.failure();
  const std::string count = std::to_string(*ended) + (*ended == 1 ? " session" : " sessions");
  AuditOperatorAction(context, "revocation", user.username, count + " ended");
  std::cout << "ended " << count << " of " << user.username << std::endl;
  return Status::Ok();
}

Status RevokeUserSessions(Context& context, const RevokeOptions& options) {
  Result<UserRecord> user = RequireUser(*context.store, options.name);
  if (!user) return user.failure();
  return options.all ? EndEverySession(context, *user)
                     : EndOneSession(context, *user, options.session);
}

}  // namespace

void RegisterUserSessions(CLI::App& user, const GlobalOptions& options, int* exit_code) {
  struct ListOptions {
    std::string name;
    bool json = false;
  };
  auto list = std::make_shared<ListOptions>();
  CLI::App* sessions = user.add_subcommand("sessions", "list a user's live sessions, newest first");
  sessions->add_option("NAME", list->name, "username")->required();
  sessions->add_flag("--json", list->json, "print one JSON object");
  sessions->callback(WithContext(options, exit_code, [list](Context& context) {
    return ListUserSessions(context, list->name, list->json);
  }));

  auto revoke = std::make_shared<RevokeOptions>();
  CLI::App* revoke_command = user.add_subcommand(
      "revoke", "end one session (--session ID) or all sessions (--all) of a user");
  revoke_command->add_option("NAME", revoke->name, "username")->required();
  // Exactly one of the two: CLI11 refuses both or neither as a usage error.
  CLI::Option_group* target = revoke_command->add_option_group("target", "what to end");
  target->add_option("--session", revoke->session, "the session id (see `user sessions`)");
  target->add_flag("--all", revoke->all, "every live session of the user");
  target->require_option(1);
  revoke_command->callback(WithContext(options, exit_code, [revoke](Context& context) {
    return RevokeUserSessions(context, *revoke);
  }));
}

}  // namespace authgate::cli
