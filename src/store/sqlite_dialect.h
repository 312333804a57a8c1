// SqliteDialect: SqlStore on one SQLite file in WAL mode with synchronous = FULL, shared safely
// by the server and the command line (several processes). Writers serialize on the database's
// write lock, taken up front (BEGIN IMMEDIATE), so row locks, the change log's ordering lock and
// the migration lock need nothing more. Lock waits are bounded by the operation's deadline
// (busy_timeout). Immutable: any thread; each connection is used by one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/dialect.h"

namespace authgate {

// Creates the file's directory when it is missing.
Result<std::unique_ptr<Dialect>> MakeSqliteDialect(const std::string& path);

// The portable statement form (dialect.h) in SQLite's: $n becomes ?n, a final FOR UPDATE clause
// goes. Exposed for its test.
std::string SqliteStatement(std::string_view portable);

}  // namespace authgate
