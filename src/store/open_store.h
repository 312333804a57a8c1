// Opens the store named by a storage URL (SPEC.md §7): "sqlite:PATH" or
// "postgresql://user:pass@host:port/dbname". The schema is created or migrated on open.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace authgate {

// `timeout_ms` bounds every call of the store (SPEC §10.1 storage.timeout_ms): a PostgreSQL
// statement, connect or pool wait; SQLite's wait for a lock (busy_timeout) or a connection.
Result<std::unique_ptr<Store>> OpenStore(const std::string& url, int timeout_ms = 2000);

}  // namespace authgate
