#include "store/open_store.h"

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <memory>

#include "store/postgres_dialect.h"
#include "store/sql_store.h"
#include "store/sqlite_dialect.h"

namespace authgate {
namespace {

// Fault injection for the crash tests (tests/integration/hardening_test.py): with
// AUTHGATE_TEST_KILL_AFTER_COMMITS=N the process kills itself with SIGKILL right after its N-th
// grouped commit, before any caller of that commit is answered. Unset in every real deployment.
void InstallCrashHook(SqlStore& store) {
  const char* text = std::getenv("AUTHGATE_TEST_KILL_AFTER_COMMITS");
  if (text == nullptr) return;
  const long after = std::strtol(text, nullptr, 10);
  if (after <= 0) return;
  auto commits = std::make_shared<std::atomic<long>>(0);
  store.SetAfterCommitHook([commits, after] {
    if (commits->fetch_add(1) + 1 == after) ::raise(SIGKILL);
  });
}

}  // namespace

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
  InstallCrashHook(**store);
  return std::unique_ptr<Store>(std::move(*store));
}

}  // namespace authgate
