#include "store/open_store.h"

#include "store/postgres_store.h"
#include "store/sqlite_store.h"

namespace authgate {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url, int timeout_ms) {
  constexpr std::string_view kSqlite = "sqlite:";
  if (url.starts_with(kSqlite)) {
    std::string path = url.substr(kSqlite.size());
    if (path.empty()) return Error{"storage URL 'sqlite:' needs a path (sqlite:PATH)"};
    Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, timeout_ms);
    if (!store) return Error{store.error()};
    return std::unique_ptr<Store>(std::move(*store));
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    Result<std::unique_ptr<PostgresStore>> store = PostgresStore::Open(url, timeout_ms);
    if (!store) return Error{store.error()};
    return std::unique_ptr<Store>(std::move(*store));
  }
  return Error{"storage URL must be sqlite:PATH or postgresql://user:pass@host:port/dbname"};
}

}  // namespace authgate
