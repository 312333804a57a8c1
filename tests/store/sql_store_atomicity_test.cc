// SqlStore's promise that a failed operation has changed nothing (store.h), on both dialects:
// a dialect wrapper makes one chosen statement fail, and the test checks what is left. Also
// where the former twin stores drifted apart (sql_store.h lists the choices).
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>

#include "store/postgres_dialect.h"
#include "store/sql_store.h"
#include "store/sqlite_dialect.h"

namespace authgate {
namespace {

// Fails the next statement that contains `trigger` (once), and forwards everything else.
struct Faults {
  std::mutex mutex;
  std::vector<std::string> triggers;

  void FailNext(std::string trigger) {
    std::lock_guard<std::mutex> lock(mutex);
    triggers.push_back(std::move(trigger));
  }
  void Check(const std::string& sql) {
    std::lock_guard<std::mutex> lock(mutex);
    for (auto it = triggers.begin(); it != triggers.end(); ++it) {
      if (sql.find(*it) == std::string::npos) continue;
      triggers.erase(it);
      throw SqlError("injected fault");
    }
  }
};

class FaultyConnection final : public SqlConnection {
 public:
  FaultyConnection(std::unique_ptr<SqlConnection> inner, Faults& faults)
      : inner_(std::move(inner)), faults_(faults) {}
  void set_deadline(Clock::time_point deadline) override { inner_->set_deadline(deadline); }
  bool healthy() const override { return inner_->healthy(); }
  std::unique_ptr<SqlRows> Run(const std::string& sql,
                               const std::vector<SqlValue>& params) override {
    faults_.Check(sql);
    return inner_->Run(sql, params);
  }
  void RunScript(const std::string& sql) override { inner_->RunScript(sql); }

 private:
  std::unique_ptr<SqlConnection> inner_;
  Faults& faults_;
};

class FaultyDialect final : public Dialect {
 public:
  FaultyDialect(std::unique_ptr<Dialect> inner, Faults& faults)
      : inner_(std::move(inner)), faults_(faults) {}
  const char* name() const override { return inner_->name(); }
  std::unique_ptr<SqlConnection> Connect(int timeout_ms,
                                         SqlConnection::Clock::time_point deadline) const override {
    return std::make_unique<FaultyConnection>(inner_->Connect(timeout_ms, deadline), faults_);
  }
  const SchemaWords& schema_words() const override { return inner_->schema_words(); }
  const char* begin_write() const override { return inner_->begin_write(); }
  bool groups_commits() const override { return inner_->groups_commits(); }
  size_t bulk_insert_rows() const override { return inner_->bulk_insert_rows(); }
  void LockChangeLog(SqlConnection& c) const override { inner_->LockChangeLog(c); }
  void PrepareMigration(SqlConnection& c) const override { inner_->PrepareMigration(c); }
  void LockMigration(SqlConnection& c) const override { inner_->LockMigration(c); }
  int64_t SchemaVersion(SqlConnection& c) const override { return inner_->SchemaVersion(c); }
  void SetSchemaVersion(SqlConnection& c, int64_t version) const override {
    inner_->SetSchemaVersion(c, version);
  }

 private:
  std::unique_ptr<Dialect> inner_;
  Faults& faults_;
};

std::unique_ptr<Dialect> FreshSqlite() {
  static int counter = 0;
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("authgate-sql-store-test-" + std::to_string(::getpid()));
  if (counter == 0) std::filesystem::remove_all(dir);
  return std::move(*MakeSqliteDialect((dir / (std::to_string(counter++) + ".db")).string()));
}

// The fixture's server (AUTHGATE_TEST_PG_URL_FILE), emptied.
std::unique_ptr<Dialect> FreshPostgres() {
  std::ifstream in(std::getenv("AUTHGATE_TEST_PG_URL_FILE"));
  std::string url;
  std::getline(in, url);
  { Result<std::unique_ptr<SqlStore>> migrated = SqlStore::Open(MakePostgresDialect(url), 5000); }
  PGconn* connection = PQconnectdb(url.c_str());
  PQclear(PQexec(connection,
                 "TRUNCATE users, login_attempts, used_otp_steps, sessions, refresh_tokens, "
                 "signing_keys, changes, settings RESTART IDENTITY"));
  PQfinish(connection);
  return MakePostgresDialect(url);
}

struct Engine {
  std::string name;
  std::function<std::unique_ptr<Dialect>()> make;
};

std::vector<Engine> Engines() {
  std::vector<Engine> engines = {{"sqlite", FreshSqlite}};
  if (std::getenv("AUTHGATE_TEST_PG_URL_FILE") != nullptr) {
    engines.push_back({"postgres", FreshPostgres});
  }
  return engines;
}

class SqlStoreAtomicity : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<SqlStore>> opened =
        SqlStore::Open(std::make_unique<FaultyDialect>(GetParam().make(), faults_), 5000);
    ASSERT_TRUE(opened.ok()) << opened.error();
    store_ = std::move(*opened);
    Result<int64_t> id = store_->CreateUser({"alice", "hash", "sealed"}, kNow);
    ASSERT_TRUE(id.ok()) << id.error();
    alice_ = *id;
  }

  static constexpr int64_t kNow = 1700000000;
  static constexpr LockoutPolicy kPolicy{5, 600};
  Faults faults_;
  std::unique_ptr<SqlStore> store_;
  int64_t alice_ = 0;
};

// PostgreSQL's former Prune ran each DELETE on its own: a failure after the first one left the
// session deleted and its tokens behind.
TEST_P(SqlStoreAtomicity, AFailedPruneDeletesNothing) {
  const CompletedLogin made = *store_->CompleteLogin("alice", alice_, 1, "s1", "r1", kNow + 10, kNow);
  ASSERT_EQ(made.completion, LoginCompletion::kCompleted);
  faults_.FailNext("DELETE FROM refresh_tokens");
  EXPECT_FALSE(store_->Prune(kNow + 100, 0, kPolicy).ok());
  EXPECT_TRUE(store_->FindSession("s1")->has_value());
  EXPECT_EQ(store_->RotateRefreshToken({made.refresh_id, "r1"}, "r2", kNow + 200, kNow + 100)
                ->outcome,
            RotationOutcome::kExpired);
  ASSERT_TRUE(store_->Prune(kNow + 100, 0, kPolicy).ok());
  EXPECT_FALSE(store_->FindSession("s1")->has_value());
}

// PostgreSQL's former PutSettingIfAbsent inserted outside a transaction.
TEST_P(SqlStoreAtomicity, AFailedFirstSettingStoresNothing) {
  faults_.FailNext("SELECT value FROM settings");
  EXPECT_FALSE(store_->PutSettingIfAbsent("check", "first").ok());
  EXPECT_FALSE(store_->GetSetting("check")->has_value());
  EXPECT_EQ(*store_->PutSettingIfAbsent("check", "second"), "second");
}

// A refused attempt under a lock in force writes nothing (the former PostgreSQL store wrote the
// unchanged row back): it succeeds even when writing the row would fail.
TEST_P(SqlStoreAtomicity, ARefusedAttemptUnderALockWritesNothing) {
  for (int i = 0; i < kPolicy.max_failed_attempts; ++i) {
    ASSERT_EQ(*store_->AdmitLoginAttempt("ghost", kNow, kPolicy), Admission::kProceed);
    ASSERT_TRUE(store_->RecordLoginFailure("ghost", kNow, kPolicy).ok());
  }
  const AttemptState locked = *store_->GetAttemptState("ghost");
  faults_.FailNext("ON CONFLICT (username) DO UPDATE");
  faults_.FailNext("DELETE FROM login_attempts");
  Result<Admission> refused = store_->AdmitLoginAttempt("ghost", kNow + 10, kPolicy);
  ASSERT_TRUE(refused.ok()) << refused.error();
  EXPECT_EQ(*refused, Admission::kLocked);
  EXPECT_EQ(*store_->GetAttemptState("ghost"), locked);
}

// The rotation's last statement fails: the successor it inserted and the mark on the old token
// are rolled back with it.
TEST_P(SqlStoreAtomicity, AFailedRotationLeavesTheTokenCurrent) {
  const CompletedLogin made = *store_->CompleteLogin("alice", alice_, 1, "s1", "r1", kNow + 100, kNow);
  ASSERT_EQ(made.completion, LoginCompletion::kCompleted);
  faults_.FailNext("UPDATE sessions SET refreshed_at");
  EXPECT_FALSE(store_->RotateRefreshToken({made.refresh_id, "r1"}, "r2", kNow + 100, kNow).ok());
  Result<RotationResult> rotated =
      store_->RotateRefreshToken({made.refresh_id, "r1"}, "r3", kNow + 100, kNow);
  ASSERT_EQ(rotated->outcome, RotationOutcome::kRotated);
  EXPECT_EQ(store_->RotateRefreshToken({rotated->next_id, "r2"}, "r4", kNow + 100, kNow)->outcome,
            RotationOutcome::kUnknown);
  EXPECT_EQ(store_->RotateRefreshToken({0, "r2"}, "r4", kNow + 100, kNow)->outcome,
            RotationOutcome::kUnknown);
  EXPECT_EQ(store_->RotateRefreshToken({rotated->next_id, "r3"}, "r4", kNow + 100, kNow)->outcome,
            RotationOutcome::kRotated);
}

TEST_P(SqlStoreAtomicity, AFailedBulkCreationCreatesNoUser) {
  std::vector<NewUser> batch;
  for (int i = 0; i < 1200; ++i) batch.push_back({"u" + std::to_string(i), "h", "s"});
  batch[1100].username = "alice";
  Result<std::vector<int64_t>> failed = store_->CreateUsers(batch, kNow);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.failure().entry, std::optional<size_t>(1100)) << failed.error();
  EXPECT_EQ(store_->ListUsers()->size(), 1u);
  batch[1100].username = "u1100";
  batch.push_back({"u5", "h", "s"});  // a name twice in one batch: the second entry fails
  failed = store_->CreateUsers(batch, kNow);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.failure().entry, std::optional<size_t>(1200)) << failed.error();
  batch.pop_back();
  Result<std::vector<int64_t>> created = store_->CreateUsers(batch, kNow);
  ASSERT_TRUE(created.ok()) << created.error();
  EXPECT_EQ((*store_->FindUserById((*created)[777]))->username, "u777");
  EXPECT_EQ(store_->ListUsers()->size(), 1201u);
}

INSTANTIATE_TEST_SUITE_P(Engines, SqlStoreAtomicity, ::testing::ValuesIn(Engines()),
                         [](const auto& info) { return info.param.name; });

TEST(SqliteStatementTest, NumberedParametersAndNoRowLocks) {
  EXPECT_EQ(SqliteStatement("SELECT a FROM t WHERE x = $1 AND y = $12 OR z = $1"),
            "SELECT a FROM t WHERE x = ?1 AND y = ?12 OR z = ?1");
  EXPECT_EQ(
      SqliteStatement("SELECT 1 FROM t JOIN s ON s.id = t.s WHERE t.h = $1 FOR UPDATE OF t, s"),
      "SELECT 1 FROM t JOIN s ON s.id = t.s WHERE t.h = ?1");
  EXPECT_EQ(SqliteStatement("UPDATE t SET v = $2 WHERE k = $1"),
            "UPDATE t SET v = ?2 WHERE k = ?1");
}

}  // namespace
}  // namespace authgate
