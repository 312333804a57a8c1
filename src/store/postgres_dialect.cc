#include "store/postgres_dialect.h"

#include "store/pg_connection.h"

namespace authgate {
namespace {

constexpr int64_t kMigrationLock = 0x61757468676174;  // "authgat"
constexpr int64_t kChangeLogLock = 0x61757468636c67;  // "authclg"

class PostgresRows final : public SqlRows {
 public:
  explicit PostgresRows(PgResult result) : result_(std::move(result)) {}
  int Count() const override { return result_.Rows(); }
  bool IsNull(int row, int column) const override { return result_.IsNull(row, column); }
  int64_t Int(int row, int column) const override { return result_.Int(row, column); }
  bool Bool(int row, int column) const override { return result_.Bool(row, column); }
  std::string Text(int row, int column) const override { return result_.Text(row, column); }
  std::string Bytes(int row, int column) const override { return result_.Bytes(row, column); }
  int64_t Affected() const override { return result_.Affected(); }

 private:
  PgResult result_;
};

Param ToParam(const SqlValue& value) {
  switch (value.kind) {
    case SqlValue::Kind::kInt:
      return Param(value.number);
    case SqlValue::Kind::kText:
      return Param(value.text);
    case SqlValue::Kind::kBytes:
      return Param::Bytes(value.text);
  }
  return Param(value.text);
}

// The portable form is PostgreSQL's own: statements go to the server as they are.
class PostgresSqlConnection final : public SqlConnection {
 public:
  explicit PostgresSqlConnection(std::unique_ptr<PostgresConnection> connection)
      : connection_(std::move(connection)) {}

  void set_deadline(Clock::time_point deadline) override { connection_->set_deadline(deadline); }
  bool healthy() const override { return connection_->healthy(); }
  std::unique_ptr<SqlRows> Run(const std::string& sql,
                               const std::vector<SqlValue>& params) override {
    std::vector<Param> converted;
    converted.reserve(params.size());
    for (const SqlValue& value : params) converted.push_back(ToParam(value));
    return std::make_unique<PostgresRows>(connection_->Run(sql.c_str(), converted));
  }
  void RunScript(const std::string& sql) override { connection_->RunScript(sql.c_str()); }

 private:
  std::unique_ptr<PostgresConnection> connection_;
};

class PostgresDialect final : public Dialect {
 public:
  explicit PostgresDialect(std::string url) : url_(std::move(url)) {}

  const char* name() const override { return "PostgreSQL"; }
  std::unique_ptr<SqlConnection> Connect(int timeout_ms,
                                         SqlConnection::Clock::time_point deadline) const override {
    return std::make_unique<PostgresSqlConnection>(
        PostgresConnection::Connect(url_, timeout_ms, deadline));
  }

  const SchemaWords& schema_words() const override {
    static const SchemaWords words{
        "BIGSERIAL PRIMARY KEY",   "BIGINT", "BYTEA", "BOOLEAN", "FALSE", "",
        "ADD COLUMN IF NOT EXISTS"};
    return words;
  }
  const char* begin_write() const override { return "BEGIN"; }
  bool groups_commits() const override { return false; }  // row locks: writers run at once
  // Each statement is a round trip, and the whole operation has one deadline.
  size_t bulk_insert_rows() const override { return 500; }

  void LockChangeLog(SqlConnection& connection) const override {
    connection.Run("SELECT pg_advisory_xact_lock($1)", {kChangeLogLock});
  }
  void PrepareMigration(SqlConnection&) const override {}
  void LockMigration(SqlConnection& connection) const override {
    connection.Run("SELECT pg_advisory_xact_lock($1)", {kMigrationLock});
  }
  int64_t SchemaVersion(SqlConnection& connection) const override {
    connection.Run("CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
    return connection.Run("SELECT COALESCE(MAX(version), 0) FROM schema_version")->Int(0, 0);
  }
  void SetSchemaVersion(SqlConnection& connection, int64_t version) const override {
    connection.Run("DELETE FROM schema_version");
    connection.Run("INSERT INTO schema_version(version) VALUES($1)", {version});
  }

 private:
  std::string url_;
};

}  // namespace

std::unique_ptr<Dialect> MakePostgresDialect(const std::string& url) {
  return std::make_unique<PostgresDialect>(url);
}

}  // namespace authgate
