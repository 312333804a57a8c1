// The name of a SQLite result code as sqlite3.h spells it, extended codes included
// ("SQLITE_READONLY_DBMOVED", "SQLITE_BUSY"): what a log line names as the cause of a store
// failure. SQLite offers only prose for a code (sqlite3_errstr), and prose that differs for
// extended codes of one primary code not at all. Pure; any thread.
#pragma once

#include <string>

namespace authgate {

// `rc` as returned by sqlite3_extended_errcode; a code unknown to this SQLite's header gets its
// primary code's name and the number ("SQLITE_IOERR (extended 8458)").
std::string SqliteResultName(int rc);

}  // namespace authgate
