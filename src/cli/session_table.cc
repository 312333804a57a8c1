#include "cli/session_table.h"

#include <algorithm>
#include <ctime>
#include <vector>

#include "cli/common.h"

namespace authgate::cli {
namespace {

using nlohmann::json;

constexpr size_t kColumns = 6;
using Row = std::vector<std::string>;

std::string TimeField(const json& session, const char* key) {
  const auto found = session.find(key);
  if (found == session.end()) return "?";
  if (found->is_null()) return "-";
  if (!found->is_number_integer()) return "?";
  return UtcTime(found->get<int64_t>());
}

// Text fields are shown through Printable: a server's answer must not drive the terminal.
std::string TextField(const json& session, const char* key) {
  const auto found = session.find(key);
  if (found == session.end() || !found->is_string()) return "?";
  return Printable(found->get_ref<const std::string&>());
}

Row SessionRow(const json& session) {
  if (!session.is_object()) return Row(kColumns, "?");
  return {TextField(session, "sessionId"), TimeField(session, "createdAt"),
          TimeField(session, "refreshedAt"), TimeField(session, "expiresAt"),
          TextField(session, "address"), TextField(session, "userAgent")};
}

bool IsCurrent(const json& session) {
  const auto current = session.find("current");  // end() for what is not an object
  return current != session.end() && *current == true;
}

// Every column but the last padded to its widest cell, plus two spaces.
void PrintRow(std::ostream& out, const Row& row, const std::vector<size_t>& widths) {
  std::string line;
  for (size_t column = 0; column < row.size(); ++column) {
    line += row[column];
    if (column + 1 < row.size()) line.append(widths[column] + 2 - row[column].size(), ' ');
  }
  out << line << '\n';
}

}  // namespace

json SessionJson(const SessionInfo& session) {
  return {{"sessionId", session.id},
          {"createdAt", session.created_at},
          {"refreshedAt", session.refreshed_at == 0 ? json(nullptr) : json(session.refreshed_at)},
          {"expiresAt", session.expires_at},
          {"address", session.address},
          {"userAgent", session.user_agent}};
}

std::string UtcTime(int64_t when) {
  const auto seconds = static_cast<std::time_t>(when);
  std::tm parts{};
  char text[40];
  if (seconds != when || gmtime_r(&seconds, &parts) == nullptr ||
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts) == 0) {
    return "?";
  }
  return text;
}

void PrintSessionTable(std::ostream& out, const json& sessions, bool mark_current) {
  std::vector<Row> rows{{"SESSION", "CREATED", "REFRESHED", "EXPIRES", "ADDRESS", "USER-AGENT"}};
  if (sessions.is_array()) {
    for (const json& session : sessions) rows.push_back(SessionRow(session));
  }
  if (mark_current) {
    rows[0].insert(rows[0].begin(), " ");
    for (size_t i = 1; i < rows.size(); ++i) {
      rows[i].insert(rows[i].begin(), IsCurrent(sessions[i - 1]) ? "*" : " ");
    }
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const Row& row : rows) {
    for (size_t column = 0; column < row.size(); ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }
  for (const Row& row : rows) PrintRow(out, row, widths);
  out << std::flush;
}

std::string JsonText(const json& document) {
  return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace authgate::cli
