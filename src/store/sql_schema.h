// The store's schema and its versioned migrations, written once for every dialect (whose
// SchemaWords spell the types). Version 1: the tables; 2: failure counts expire and request-otp
// failures are counted in a window (SPEC §10.5); 3: settings; 4: the credential hold (SPEC §10.3);
// 5: the refresh replay window (SPEC §10.2); 6: the write probe's heartbeats (issue 16.2); 7:
// what a session shows its owner (SPEC §10.4); 8: refresh tokens appended in creation order
// (issue 14.3); 9: refresh tokens found by the id they carry (core/refresh_token.h). A database is migrated in one write transaction under the dialect's migration
// lock, so processes starting together migrate once, and one migrated by an older authgate
// opens unchanged.
#pragma once

#include <cstdint>
#include <string>

#include "store/dialect.h"

namespace authgate {

inline constexpr int64_t kSchemaVersion = 9;

// The script that takes a database from `version` - 1 to `version` (1 to kSchemaVersion), in
// the dialect's words.
std::string MigrationScript(const Dialect& dialect, int64_t version);

// Creates or migrates the schema on `connection`; throws on failure, and for a database newer
// than this program.
void Migrate(const Dialect& dialect, SqlConnection& connection);

}  // namespace authgate
