// GroupCommit (src/store/group_commit.h) on a real SQLite file: concurrent writers share commits,
// each answered after the commit that holds its writes; one failing operation fails alone; a
// failed commit fails its whole group; an operation that waited past the timeout fails unrun.
#include "store/group_commit.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "store/sql_transaction.h"
#include "store/sqlite_dialect.h"

namespace authgate {
namespace {

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                      ("authgate-group-commit-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    Result<std::unique_ptr<Dialect>> dialect = MakeSqliteDialect((dir / "g.db").string());
    ASSERT_TRUE(dialect.ok()) << dialect.error();
    dialect_ = std::move(*dialect);
    pool_ = std::make_unique<ConnectionPool>(*dialect_, kTimeoutMs);
    group_ = std::make_unique<GroupCommit>(*pool_, *dialect_, kTimeoutMs);
    ConnectionPool::Lease lease = pool_->Acquire();
    (*lease).RunScript(
        "CREATE TABLE rows(id INTEGER PRIMARY KEY);"
        "CREATE TABLE parents(id INTEGER PRIMARY KEY);"
        "CREATE TABLE children(parent INTEGER REFERENCES parents(id) DEFERRABLE INITIALLY "
        "DEFERRED);"
        "PRAGMA foreign_keys = ON;");
  }

  // An operation as SqlStore runs one: under its own savepoint, released at its end. `hold`
  // runs inside it (a slow writer).
  std::optional<Error> Insert(int64_t id, const std::function<void()>& hold = [] {}) {
    return group_->Run([&, id](SqlConnection& c) {
      SqlTransaction operation(*dialect_, c, SqlTransaction::Mode::kGrouped);
      c.Run("INSERT INTO rows(id) VALUES($1)", {id});
      hold();
      operation.Commit();
    });
  }

  // Holds the running group until `count` callers wait behind it (at most 10 s).
  void UntilQueued(size_t count) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (group_->queued() < count && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  int64_t Rows() {
    ConnectionPool::Lease lease = pool_->Acquire();
    return (*lease).Run("SELECT COUNT(*) FROM rows", {})->Int(0, 0);
  }

  // Starts a slow writer and `count` others, and keeps the slow one's group running until
  // `queued` callers wait behind it, so that those share the next group.
  std::vector<std::thread> QueueBehindASlowWriter(int count, std::atomic<int>* failed,
                                                  size_t queued = 0) {
    if (queued == 0) queued = static_cast<size_t>(count);
    std::vector<std::thread> writers;
    writers.emplace_back([this, queued] {
      EXPECT_FALSE(Insert(0, [this, queued] {
        slow_running_ = true;
        UntilQueued(queued);
      }));
    });
    while (!slow_running_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (int i = 1; i <= count; ++i) {
      writers.emplace_back([this, i, failed] {
        if (Insert(i)) ++*failed;
      });
    }
    return writers;
  }

  static constexpr int kTimeoutMs = 2000;
  std::unique_ptr<Dialect> dialect_;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<GroupCommit> group_;
  std::atomic<bool> slow_running_{false};
};

TEST_F(GroupCommitTest, ConcurrentWritersShareCommits) {
  std::atomic<int> failed{0};
  std::vector<std::thread> writers = QueueBehindASlowWriter(40, &failed);
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(Rows(), 41);
  EXPECT_EQ(group_->operations(), 41u);
  EXPECT_EQ(group_->groups(), 2u);  // the slow one's, then the 40 that queued behind it
  const CommitGroupStats stats = group_->stats();
  EXPECT_EQ(stats.groups[0], 1u);  // 1
  EXPECT_EQ(stats.groups[6], 1u);  // 33..64
  EXPECT_EQ(stats.operations, 41u);
}

TEST_F(GroupCommitTest, EveryCallerReturnsAfterTheCommitThatHoldsItsWrites) {
  std::atomic<int> returned{0};
  std::atomic<int> returned_before_a_commit{0};
  std::atomic<int> commits{0};
  group_->set_after_commit([&] {
    // Every caller that has returned was in an earlier group: its rows are all committed.
    const int now_returned = returned.load();
    const int64_t committed = Rows();
    if (now_returned > committed) ++returned_before_a_commit;
    ++commits;
  });
  std::vector<std::thread> writers;
  for (int i = 0; i < 32; ++i) {
    writers.emplace_back([this, i, &returned] {
      EXPECT_FALSE(Insert(i));
      ++returned;
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(returned_before_a_commit.load(), 0);
  EXPECT_EQ(Rows(), 32);
  EXPECT_EQ(static_cast<uint64_t>(commits.load()), group_->groups());
}

TEST_F(GroupCommitTest, AFailingOperationFailsAloneAndTheOthersCommit) {
  ASSERT_FALSE(Insert(1000));
  std::atomic<int> failed{0};
  std::vector<std::thread> writers = QueueBehindASlowWriter(10, &failed, 11);
  writers.emplace_back([this] {
    std::optional<Error> duplicate = Insert(1000);  // a primary key that exists
    EXPECT_TRUE(duplicate.has_value());
  });
  for (std::thread& writer : writers) writer.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(Rows(), 12);  // 1000, the slow one's 0, and 1..10
}

TEST_F(GroupCommitTest, AFailedCommitFailsTheWholeGroup) {
  std::atomic<int> failed{0};
  std::vector<std::thread> writers = QueueBehindASlowWriter(5, &failed, 6);
  writers.emplace_back([this] {
    // A deferred foreign key: the statement passes, the group's COMMIT fails.
    std::optional<Error> orphan = group_->Run([&](SqlConnection& c) {
      SqlTransaction operation(*dialect_, c, SqlTransaction::Mode::kGrouped);
      c.Run("INSERT INTO children(parent) VALUES(42)", {});
      operation.Commit();
    });
    EXPECT_TRUE(orphan.has_value());
  });
  for (std::thread& writer : writers) writer.join();
  // The slow writer's group committed alone; the orphan's group (with 1..5) did not.
  EXPECT_EQ(Rows(), 1);
  EXPECT_EQ(failed.load(), 5);
}

TEST_F(GroupCommitTest, AnOperationThatWaitedPastTheTimeoutFailsUnrun) {
  std::thread slow([this] {
    EXPECT_FALSE(Insert(0, [] {
      std::this_thread::sleep_for(std::chrono::milliseconds(kTimeoutMs + 300));
    }));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::optional<Error> late = Insert(1);
  slow.join();
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->cause, "timeout");
  EXPECT_EQ(Rows(), 1);
}

}  // namespace
}  // namespace authgate
