// Sessions as the command line shows them (SPEC §10.4), for the operator's `user sessions` and
// the customer's `client sessions`: the API's JSON fields of a stored session, and a readable
// table of such objects (one session per line, times in UTC ISO-8601, "-" for a session never
// refreshed). Nothing here throws, whatever the objects hold (they may come from a server):
// a field that is missing or of another type shows as "?".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>

#include "store/store.h"

namespace authgate::cli {

// {"sessionId", "createdAt", "refreshedAt" (null while refreshed_at is 0), "expiresAt",
// "address", "userAgent"}; times in Unix seconds.
nlohmann::json SessionJson(const SessionInfo& session);

// `when` (Unix seconds) as 2026-12-05T08:37:57Z; "?" for a time that has no such form.
std::string UtcTime(int64_t when);

// A header line and one line per element of `sessions` (a JSON array of SessionJson-shaped
// objects). With `mark_current`, a first column holds "*" for the element whose "current" is true.
void PrintSessionTable(std::ostream& out, const nlohmann::json& sessions, bool mark_current);

// `document` on one line; bytes that are not UTF-8 are replaced (U+FFFD), never thrown on.
std::string JsonText(const nlohmann::json& document);

}  // namespace authgate::cli
