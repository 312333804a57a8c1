// Store errors carry codes that callers branch on (issue 13): a store that does not answer is
// kUnavailable on both engines, whatever the engine's own message says.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "store/open_store.h"

namespace authgate {
namespace {

constexpr int64_t kNow = 1700000000;
constexpr LockoutPolicy kPolicy{5, 600};

std::filesystem::path TempDb(const char* name) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("authgate-store-errors-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir / name);
  return dir / name;
}

TEST(SqlStoreErrors, ASqliteDatabaseLockedByAnotherWriterIsUnavailable) {
  const std::filesystem::path path = TempDb("locked.db");
  Result<std::unique_ptr<Store>> store = OpenStore("sqlite:" + path.string(), 50);
  ASSERT_TRUE(store.ok()) << store.error();
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);

  Result<Admission> admitted = (*store)->AdmitLoginAttempt("alice", kNow, kPolicy);
  ASSERT_FALSE(admitted.ok());
  EXPECT_EQ(admitted.code(), ErrorCode::kUnavailable) << admitted.error();
  EXPECT_EQ(admitted.failure().cause, "SQLITE_BUSY");
  EXPECT_NE(admitted.error().find("(SQLITE_BUSY)"), std::string::npos) << admitted.error();

  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE((*store)->AdmitLoginAttempt("alice", kNow, kPolicy).ok());
}

TEST(SqlStoreErrors, AUserNameTakenIsAlreadyExists) {
  Result<std::unique_ptr<Store>> store = OpenStore("sqlite:" + TempDb("taken.db").string(), 500);
  ASSERT_TRUE(store.ok()) << store.error();
  ASSERT_TRUE((*store)->CreateUser({"alice", "hash", "sealed"}, kNow).ok());
  Result<int64_t> again = (*store)->CreateUser({"alice", "hash", "sealed"}, kNow);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), ErrorCode::kAlreadyExists) << again.error();
  EXPECT_EQ(again.failure().entry, std::optional<size_t>(0));
}

// A PostgreSQL "server" that accepts connections and never says a word: a silent network.
class SilentServer {
 public:
  SilentServer() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), length) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ADD_FAILURE() << "cannot listen on loopback";
    }
    port_ = ntohs(address.sin_port);
  }
  ~SilentServer() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(SqlStoreErrors, APostgresServerThatNeverAnswersIsUnavailable) {
  SilentServer silent;
  const std::string url = "postgresql://authgate:secret@127.0.0.1:" +
                          std::to_string(silent.port()) + "/authgate?sslmode=disable";
  Result<std::unique_ptr<Store>> store = OpenStore(url, 200);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), ErrorCode::kUnavailable) << store.error();
  EXPECT_EQ(store.failure().cause, "timeout");
  EXPECT_EQ(store.error().find("secret"), std::string::npos) << "no password in errors";
}

TEST(SqlStoreErrors, APostgresServerThatRefusesIsUnavailable) {
  int port = 0;
  { SilentServer closed_soon; port = closed_soon.port(); }  // nothing listens there now
  Result<std::unique_ptr<Store>> store = OpenStore(
      "postgresql://authgate@127.0.0.1:" + std::to_string(port) + "/authgate?sslmode=disable", 200);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.code(), ErrorCode::kUnavailable) << store.error();
  EXPECT_EQ(store.failure().cause, "connect failed");
  EXPECT_EQ(store.error().find('\n'), std::string::npos)
      << "libpq's lines joined: " << store.error();
}

}  // namespace
}  // namespace authgate
