#include "store/sqlite_dialect.h"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <unordered_map>
#include <variant>
#include <vector>

#include "store/sqlite_result_name.h"

namespace authgate {
namespace {

// What a SQLite result code says about the store: busy, locked, full, I/O errors and a file that
// cannot be opened are "unavailable for now" (the disk or another writer may recover); a unique
// key taken is kAlreadyExists; a damaged file is kCorrupt; anything else is a bug.
ErrorCode CodeOf(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
      return ErrorCode::kUnavailable;
    case SQLITE_CONSTRAINT:
      return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY
                 ? ErrorCode::kAlreadyExists
                 : ErrorCode::kInternal;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return ErrorCode::kCorrupt;
    default:
      return ErrorCode::kInternal;
  }
}

// SQLite's message with its extended result code named: "attempt to write a readonly database
// (SQLITE_READONLY_DBMOVED)". SQLite's messages name tables and columns, never a bound value.
SqlError ErrorOf(int rc, const std::string& message) {
  const std::string cause = SqliteResultName(rc);
  return SqlError(message + " (" + cause + ")", CodeOf(rc), cause);
}

// Every cell copied out of the statement, so the statement can be reset at once.
class SqliteRows final : public SqlRows {
 public:
  using Cell = std::variant<std::monostate, int64_t, std::string>;
  std::vector<std::vector<Cell>> rows;
  int64_t affected = 0;

  int Count() const override { return static_cast<int>(rows.size()); }
  bool IsNull(int row, int column) const override {
    return std::holds_alternative<std::monostate>(rows[row][column]);
  }
  int64_t Int(int row, int column) const override {
    const Cell& cell = rows[row][column];
    if (const int64_t* number = std::get_if<int64_t>(&cell)) return *number;
    if (const std::string* text = std::get_if<std::string>(&cell)) return std::stoll(*text);
    return 0;
  }
  bool Bool(int row, int column) const override { return Int(row, column) != 0; }
  std::string Text(int row, int column) const override {
    const Cell& cell = rows[row][column];
    if (const std::string* text = std::get_if<std::string>(&cell)) return *text;
    if (const int64_t* number = std::get_if<int64_t>(&cell)) return std::to_string(*number);
    return std::string();
  }
  std::string Bytes(int row, int column) const override { return Text(row, column); }
  int64_t Affected() const override { return affected; }
};

class SqliteConnection final : public SqlConnection {
 public:
  SqliteConnection(sqlite3* db, int timeout_ms) : db_(db), timeout_ms_(timeout_ms) {}
  ~SqliteConnection() override {
    for (auto& [sql, statement] : statements_) sqlite3_finalize(statement);
    sqlite3_close(db_);
  }

  // The lock waits of the operation end by its deadline, and never wait longer than timeout_ms.
  void set_deadline(Clock::time_point deadline) override {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    sqlite3_busy_timeout(db_, static_cast<int>(std::clamp<int64_t>(left, 1, timeout_ms_)));
  }
  // A SQLite connection is a file handle: nothing on the way can break it.
  bool healthy() const override { return true; }

  std::unique_ptr<SqlRows> Run(const std::string& sql,
                               const std::vector<SqlValue>& params) override;

  void RunScript(const std::string& sql) override {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      throw ErrorOf(sqlite3_extended_errcode(db_), text);
    }
  }

 private:
  // Prepared once per connection, keyed by the portable text.
  sqlite3_stmt* Prepare(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second;
    sqlite3_stmt* statement = nullptr;
    if (sqlite3_prepare_v2(db_, SqliteStatement(sql).c_str(), -1, &statement, nullptr) !=
        SQLITE_OK) {
      Fail();
    }
    statements_.emplace(sql, statement);
    return statement;
  }
  void Bind(sqlite3_stmt* statement, int index, const SqlValue& value);
  void Check(int rc) {
    if (rc != SQLITE_OK) Fail();
  }
  [[noreturn]] void Fail() { throw ErrorOf(sqlite3_extended_errcode(db_), sqlite3_errmsg(db_)); }

  sqlite3* db_;
  int timeout_ms_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
};

void SqliteConnection::Bind(sqlite3_stmt* statement, int index, const SqlValue& value) {
  const int size = static_cast<int>(value.text.size());
  switch (value.kind) {
    case SqlValue::Kind::kInt:
      return Check(sqlite3_bind_int64(statement, index, value.number));
    case SqlValue::Kind::kText:
      return Check(sqlite3_bind_text(statement, index, value.text.data(), size, SQLITE_TRANSIENT));
    case SqlValue::Kind::kBytes:
      return Check(sqlite3_bind_blob(statement, index, value.text.data(), size, SQLITE_TRANSIENT));
  }
}

SqliteRows::Cell ReadCell(sqlite3_stmt* statement, int column) {
  switch (sqlite3_column_type(statement, column)) {
    case SQLITE_NULL:
      return std::monostate{};
    case SQLITE_INTEGER:
      return static_cast<int64_t>(sqlite3_column_int64(statement, column));
    default:
      break;
  }
  const void* data = sqlite3_column_blob(statement, column);
  int size = sqlite3_column_bytes(statement, column);
  return data ? std::string(static_cast<const char*>(data), size) : std::string();
}

std::unique_ptr<SqlRows> SqliteConnection::Run(const std::string& sql,
                                               const std::vector<SqlValue>& params) {
  sqlite3_stmt* statement = Prepare(sql);
  // Reset whatever happens, so the cached statement is ready for the next call.
  struct Reset {
    sqlite3_stmt* statement;
    ~Reset() {
      sqlite3_reset(statement);
      sqlite3_clear_bindings(statement);
    }
  } reset{statement};
  for (size_t i = 0; i < params.size(); ++i) Bind(statement, static_cast<int>(i) + 1, params[i]);
  auto rows = std::make_unique<SqliteRows>();
  const int columns = sqlite3_column_count(statement);
  for (;;) {
    int rc = sqlite3_step(statement);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) Fail();
    std::vector<SqliteRows::Cell>& row = rows->rows.emplace_back();
    for (int column = 0; column < columns; ++column) row.push_back(ReadCell(statement, column));
  }
  rows->affected = sqlite3_changes(db_);
  return rows;
}

class SqliteDialect final : public Dialect {
 public:
  explicit SqliteDialect(std::string path) : path_(std::move(path)) {}

  const char* name() const override { return "SQLite"; }
  std::unique_ptr<SqlConnection> Connect(int timeout_ms,
                                         SqlConnection::Clock::time_point) const override;

  const SchemaWords& schema_words() const override {
    static const SchemaWords words{"INTEGER PRIMARY KEY AUTOINCREMENT",
                                   "INTEGER",
                                   "BLOB",
                                   "INTEGER",
                                   "0",
                                   " WITHOUT ROWID",
                                   "ADD COLUMN"};
    return words;
  }
  const char* begin_write() const override { return "BEGIN IMMEDIATE"; }
  bool groups_commits() const override { return true; }
  // In-process: a statement costs no round trip, and one prepared row statement is reused.
  size_t bulk_insert_rows() const override { return 1; }

  void LockChangeLog(SqlConnection&) const override {}
  void PrepareMigration(SqlConnection& connection) const override {
    connection.Run("PRAGMA journal_mode = WAL");
  }
  void LockMigration(SqlConnection&) const override {}
  int64_t SchemaVersion(SqlConnection& connection) const override {
    return connection.Run("PRAGMA user_version")->Int(0, 0);
  }
  void SetSchemaVersion(SqlConnection& connection, int64_t version) const override {
    connection.RunScript("PRAGMA user_version = " + std::to_string(version));
  }

 private:
  std::string path_;
};

std::unique_ptr<SqlConnection> SqliteDialect::Connect(int timeout_ms,
                                                      SqlConnection::Clock::time_point) const {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path_.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    const int code = db ? sqlite3_extended_errcode(db) : rc;
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    SqlError error = ErrorOf(code, "cannot open SQLite database '" + path_ + "': " + message);
    error.code = ErrorCode::kUnavailable;
    throw error;
  }
  auto connection = std::make_unique<SqliteConnection>(db, timeout_ms);
  sqlite3_busy_timeout(db, timeout_ms);
  connection->RunScript("PRAGMA foreign_keys = ON");
  connection->RunScript("PRAGMA synchronous = FULL");
  // 16 MiB of page cache per connection (SQLite's default: 2 MB), filled only as far as the
  // database is large: the write path's random pages (the refresh tokens' hash index, the
  // sessions) stay cached between groups; refresh measured ~10 % faster (issue 14.3).
  connection->RunScript("PRAGMA cache_size = -16384");
  return connection;
}

}  // namespace

std::string SqliteStatement(std::string_view portable) {
  std::string out;
  out.reserve(portable.size());
  std::string_view text = portable;
  const size_t lock = text.rfind(" FOR UPDATE");
  if (lock != std::string_view::npos) text = text.substr(0, lock);
  for (size_t i = 0; i < text.size(); ++i) {
    const bool numbered =
        text[i] == '$' && i + 1 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '9';
    out.push_back(numbered ? '?' : text[i]);
  }
  return out;
}

Result<std::unique_ptr<Dialect>> MakeSqliteDialect(const std::string& path) {
  std::error_code ec;
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
    std::filesystem::create_directories(parent, ec);
    if (ec) return Error{"cannot create directory '" + parent.string() + "': " + ec.message()};
  }
  return std::unique_ptr<Dialect>(new SqliteDialect(path));
}

}  // namespace authgate
