#include "store/open_store.h"

#include "store/postgres_dialect.h"
#include "store/sql_store.h"
#include "store/sqlite_dialect.h"

namespace authgate {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url, int timeout_ms) {
  std::unique_ptr<Dialect> dialect;
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty()) return Error{"storage URL 'sqlite:' needs a path (sqlite:PATH)"};
    Result<std::unique_ptr<Dialect>> sqlite = MakeSqliteDialect(path);
    if (!sqlite) return sqlite.failure();
    dialect = std::move(*sqlite);
  } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    dialect = MakePostgresDialect(url);
  } else {
    return Error{"storage URL must be sqlite:PATH or postgresql://user:pass@host:port/dbname"};
  }
  Result<std::unique_ptr<SqlStore>> store = SqlStore::Open(std::move(dialect), timeout_ms);
  if (!store) return store.failure();
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace authgate
