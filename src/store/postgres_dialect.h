// PostgresDialect: SqlStore on one PostgreSQL server shared by many authgate instances (libpq,
// through pg_connection.h, which bounds every call by the operation's deadline). Atomic steps lock
// the rows they read (SELECT ... FOR UPDATE); appends to the change log take a transaction-scoped
// advisory lock, so sequence numbers become visible in commit order; migrations run under another
// advisory lock, so instances starting together migrate once. Immutable: any thread; each
// connection is used by one thread at a time.
#pragma once

#include <memory>
#include <string>

#include "store/dialect.h"

namespace authgate {

// `url`: "postgresql://user:pass@host:port/dbname" (libpq's URI form).
std::unique_ptr<Dialect> MakePostgresDialect(const std::string& url);

}  // namespace authgate
