// HasherProcesses and the hash protocol (src/service/hasher_processes.h, hash_protocol.h): the
// helpers answer exactly as VerifyPassword does, a failed helper is replaced, and a login's
// answer never depends on a helper being alive. Runs the real authgate-hasher binary.
#include "service/hasher_processes.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>
#include <vector>

#include "core/password.h"
#include "core/random.h"
#include "log_capture.h"
#include "service/hash_protocol.h"

namespace authgate {
namespace {

const bool crypto_ready = InitCrypto();
constexpr PasswordParams kFast{1024, 1, 1};  // small parameters: these tests are about plumbing

// Helpers and the metrics they count their failures in.
struct Helpers {
  Metrics metrics;
  std::unique_ptr<HasherProcesses> processes;
  // authgate_hash_helper_events_total{event}; read after any check that the series is absent.
  uint64_t Events(std::string_view event) { return metrics.Counter("hash_helpers", event).Value(); }
};

std::unique_ptr<Helpers> StartHelpers(size_t count, const std::string& binary = AUTHGATE_HASHER) {
  auto helpers = std::make_unique<Helpers>();
  Result<std::unique_ptr<HasherProcesses>> started =
      HasherProcesses::Start(binary, count, 0, helpers->metrics);
  if (!started) {
    ADD_FAILURE() << started.error();
    return nullptr;
  }
  helpers->processes = std::move(*started);
  return helpers;
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0; }

TEST(HasherProcesses, AnswersAsVerifyPasswordDoes) {
  ASSERT_TRUE(crypto_ready);
  auto helpers = StartHelpers(2);
  ASSERT_NE(helpers, nullptr);
  const std::string hash = *HashPassword("correct horse", kFast);
  EXPECT_TRUE(helpers->processes->Verify(hash, "correct horse"));
  EXPECT_FALSE(helpers->processes->Verify(hash, "correct horse "));
  EXPECT_FALSE(helpers->processes->Verify(hash, ""));
  EXPECT_FALSE(helpers->processes->Verify("not a hash", "correct horse"));
  EXPECT_FALSE(helpers->processes->Verify("", ""));
  const std::string with_nul("pass\0word", 9);
  const std::string nul_hash = *HashPassword(with_nul, kFast);
  EXPECT_TRUE(helpers->processes->Verify(nul_hash, with_nul));
  EXPECT_FALSE(helpers->processes->Verify(nul_hash, "pass"));
  EXPECT_EQ(helpers->metrics.Render(0, {}).find("authgate_hash_helper_events_total{"),
            std::string::npos);
}

TEST(HasherProcesses, ManyThreadsShareTheHelpers) {
  auto helpers = StartHelpers(2);
  ASSERT_NE(helpers, nullptr);
  const std::string hash = *HashPassword("pw", kFast);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        const bool good = (i + t) % 2 == 0;
        if (helpers->processes->Verify(hash, good ? "pw" : "pw!") != good) wrong.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(helpers->Events("replaced"), 0u);
}

TEST(HasherProcesses, AKilledHelperIsReplaced) {
  auto helpers = StartHelpers(2);
  ASSERT_NE(helpers, nullptr);
  const std::string hash = *HashPassword("pw", kFast);
  std::vector<pid_t> before = helpers->processes->Pids();
  ASSERT_EQ(before.size(), 2u);
  ::kill(before[0], SIGKILL);
  ::kill(before[1], SIGKILL);
  EXPECT_TRUE(helpers->processes->Verify(hash, "pw"));
  EXPECT_FALSE(helpers->processes->Verify(hash, "nope"));
  std::vector<pid_t> after = helpers->processes->Pids();
  ASSERT_EQ(after.size(), 2u);
  for (pid_t pid : after) {
    EXPECT_TRUE(std::find(before.begin(), before.end(), pid) == before.end());
    EXPECT_TRUE(Alive(pid));
  }
  const std::string rendered = helpers->metrics.Render(0, {});
  EXPECT_NE(rendered.find("authgate_hash_helper_events_total{event=\"replaced\"} 2\n"),
            std::string::npos)
      << rendered;
  EXPECT_EQ(rendered.find("in_process"), std::string::npos);
}

TEST(HasherProcesses, VerifiesInProcessWhenHelpersDoNotAnswer) {
  // /bin/true starts fine and exits at once: every helper "dies" before answering.
  auto helpers = StartHelpers(1, "/bin/true");
  ASSERT_NE(helpers, nullptr);
  const std::string hash = *HashPassword("pw", kFast);
  EXPECT_TRUE(helpers->processes->Verify(hash, "pw"));
  EXPECT_FALSE(helpers->processes->Verify(hash, "nope"));
  EXPECT_NE(helpers->metrics.Render(0, {}).find(
                "authgate_hash_helper_events_total{event=\"in_process\"} 2\n"),
            std::string::npos);
  EXPECT_EQ(helpers->Events("replaced"), 2u);  // started each time, died each time
}

TEST(HasherProcesses, FailuresAreLoggedWithTheirCauseAFewLinesForMany) {
  LogCapture log;
  auto helpers = StartHelpers(1, "/bin/true");
  ASSERT_NE(helpers, nullptr);
  const std::string hash = *HashPassword("password-canary", kFast);
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(helpers->processes->Verify(hash, "password-canary"));
  // 100 helpers failed and 50 verifications fell back: one line a second for each cause.
  const std::vector<std::string> lines = log.Lines("hash helper failure:");
  EXPECT_LT(lines.size(), 20u) << log.Text();
  EXPECT_FALSE(log.Lines("[warning] hash helper failure: op=\"verify\" cause=\"failed twice\" "
                         "suppressed=0: verifying in the server process")
                   .empty())
      << log.Text();
  EXPECT_EQ(log.Lines("op=\"verify\" cause=\"").size(), lines.size()) << log.Text();
  EXPECT_EQ(log.Text().find("password-canary"), std::string::npos);
  EXPECT_EQ(log.Text().find(hash), std::string::npos);
}

TEST(HasherProcesses, AMissingBinaryIsAnError) {
  Metrics metrics;
  Result<std::unique_ptr<HasherProcesses>> started =
      HasherProcesses::Start("/nonexistent/authgate-hasher", 1, 0, metrics);
  ASSERT_FALSE(started);
  EXPECT_NE(started.error().find("/nonexistent/authgate-hasher"), std::string::npos);
}

TEST(HasherProcesses, OversizedPasswordsAreVerifiedInProcess) {
  auto helpers = StartHelpers(1);
  ASSERT_NE(helpers, nullptr);
  const std::string big(kMaxPasswordBytes + 1, 'x');
  const std::string hash = *HashPassword(big, kFast);
  EXPECT_TRUE(helpers->processes->Verify(hash, big));
  EXPECT_EQ(helpers->Events("replaced"), 0u);
}

TEST(HasherProcesses, HelpersInheritNothingAndDieWithTheirOwner) {
  // A descriptor without close-on-exec, open while the helpers start, must not reach them.
  const std::string leaky_path = std::filesystem::temp_directory_path() /
                                 ("authgate-leak-check-" + std::to_string(::getpid()));
  const int leaky = ::open(leaky_path.c_str(), O_RDWR | O_CREAT, 0600);
  ASSERT_GE(leaky, 0);
  auto helpers = StartHelpers(2);
  ::close(leaky);
  std::filesystem::remove(leaky_path);
  ASSERT_NE(helpers, nullptr);
  std::vector<pid_t> pids = helpers->processes->Pids();
  for (pid_t pid : pids) {
    const std::string proc = "/proc/" + std::to_string(pid);
    // 0 is the socket, 1 is /dev/null, 2 is shared stderr; anything else (a sanitizer runtime
    // may open its own) must not be the file this process had open.
    for (const auto& entry : std::filesystem::directory_iterator(proc + "/fd")) {
      std::error_code ec;
      const std::string target = std::filesystem::read_symlink(entry.path(), ec).string();
      const std::string fd = entry.path().filename().string();
      if (fd == "0") {
        EXPECT_EQ(target.rfind("socket:", 0), 0u) << target;
      }
      if (fd == "1") {
        EXPECT_EQ(target, "/dev/null");
      }
      EXPECT_EQ(target.find("authgate-leak-check-"), std::string::npos) << fd << " -> " << target;
    }
    std::ifstream environ(proc + "/environ");
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(environ), {}), "");
  }
  helpers.reset();
  for (pid_t pid : pids) EXPECT_FALSE(Alive(pid)) << pid;  // killed and reaped
}

// The helper's loop itself, over a socket pair in this process.
struct Pair {
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  ~Pair() {
    ::close(fds[0]);
    if (fds[1] >= 0) ::close(fds[1]);
  }
  int fds[2] = {-1, -1};
};

std::string Request(const std::string& hash, const std::string& password, uint32_t backend = 0) {
  const uint32_t sizes[3] = {static_cast<uint32_t>(hash.size()),
                             static_cast<uint32_t>(password.size()), backend};
  std::string bytes(reinterpret_cast<const char*>(sizes), sizeof(sizes));
  return bytes + hash + password;
}

TEST(HashProtocol, AnswersEachRequestThenEndsCleanly) {
  Pair pair;
  const std::string hash = *HashPassword("pw", kFast);
  const std::string requests = Request(hash, "pw") + Request(hash, "no") + Request("x", "pw");
  ASSERT_TRUE(WriteAll(pair.fds[1], requests.data(), requests.size()));
  ::shutdown(pair.fds[1], SHUT_WR);
  EXPECT_EQ(ServeHashRequests(pair.fds[0]), 0);
  char answers[4] = {};
  EXPECT_EQ(ReadAll(pair.fds[1], answers, 3), ReadResult::kDone);
  EXPECT_EQ(std::string(answers, 3), std::string("\1\0\0", 3));
  ::shutdown(pair.fds[0], SHUT_WR);  // as the helper's exit would
  EXPECT_EQ(ReadAll(pair.fds[1], answers, 1), ReadResult::kEndBeforeAnyByte);
}

// Each request names the implementation to verify with: every one answers the same.
TEST(HashProtocol, VerifiesWithTheImplementationEachRequestNames) {
  Pair pair;
  const std::string hash = *HashPassword("pw", kFast);
  std::string requests;
  for (uint32_t backend = 0; backend < AllArgon2Backends().size(); ++backend) {
    requests += Request(hash, "pw", backend) + Request(hash, "no", backend);
  }
  ASSERT_TRUE(WriteAll(pair.fds[1], requests.data(), requests.size()));
  ::shutdown(pair.fds[1], SHUT_WR);
  EXPECT_EQ(ServeHashRequests(pair.fds[0]), 0);
  std::string answers(2 * AllArgon2Backends().size(), '\x7f');
  EXPECT_EQ(ReadAll(pair.fds[1], answers.data(), answers.size()), ReadResult::kDone);
  for (size_t i = 0; i < answers.size(); ++i) EXPECT_EQ(answers[i], i % 2 == 0 ? 1 : 0) << i;
}

TEST(HashProtocol, RefusesOversizedAndTruncatedRequests) {
  {
    Pair pair;
    const std::string unknown_backend = Request("hash", "password", 99);
    ASSERT_TRUE(WriteAll(pair.fds[1], unknown_backend.data(), unknown_backend.size()));
    EXPECT_EQ(ServeHashRequests(pair.fds[0]), 1);
  }
  {
    Pair pair;
    const uint32_t sizes[3] = {kMaxHashBytes + 1, 1, 0};
    ASSERT_TRUE(WriteAll(pair.fds[1], reinterpret_cast<const char*>(sizes), sizeof(sizes)));
    EXPECT_EQ(ServeHashRequests(pair.fds[0]), 1);
  }
  {
    Pair pair;
    const uint32_t sizes[3] = {1, kMaxPasswordBytes + 1, 0};
    ASSERT_TRUE(WriteAll(pair.fds[1], reinterpret_cast<const char*>(sizes), sizeof(sizes)));
    EXPECT_EQ(ServeHashRequests(pair.fds[0]), 1);
  }
  {
    Pair pair;
    const std::string cut = Request("hash", "password").substr(0, 16);
    ASSERT_TRUE(WriteAll(pair.fds[1], cut.data(), cut.size()));
    ::shutdown(pair.fds[1], SHUT_WR);
    EXPECT_EQ(ServeHashRequests(pair.fds[0]), 1);
  }
  {
    Pair pair;
    const char half_header[3] = {1, 0, 0};
    ASSERT_TRUE(WriteAll(pair.fds[1], half_header, sizeof(half_header)));
    ::shutdown(pair.fds[1], SHUT_WR);
    EXPECT_EQ(ServeHashRequests(pair.fds[0]), 1);
  }
}

}  // namespace
}  // namespace authgate
