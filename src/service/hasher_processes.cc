#include "service/hasher_processes.h"

#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include <spdlog/spdlog.h>

#include "core/password.h"
#include "service/hash_protocol.h"

namespace authgate {

namespace {

constexpr int kHelperTimeoutSeconds = 60;

// A helper that failed, with the cause a log line is keyed by ("timeout", "closed").
Error HelperFailed(pid_t pid, std::string cause, std::string_view what) {
  Error error{"helper " + std::to_string(pid) + ": " + std::string(what), ErrorCode::kUnavailable};
  error.cause = std::move(cause);
  return error;
}

Error ReceiveFailed(pid_t pid, ReadResult read, int error_number) {
  if (read == ReadResult::kEndBeforeAnyByte) return HelperFailed(pid, "closed", "closed (died?)");
  if (error_number == EAGAIN || error_number == EWOULDBLOCK) {
    return HelperFailed(pid, "timeout",
                        "no answer within " + std::to_string(kHelperTimeoutSeconds) + " s");
  }
  const std::string reason = std::strerror(error_number);
  return HelperFailed(pid, "receive: " + reason, "receive: " + reason);
}

// A helper that could not be started: the step and the system's reason are the cause.
Error StartFailed(const std::string& step, const std::string& detail, int error_number) {
  const std::string reason = std::strerror(error_number);
  Error error{"hash helper: " + step + detail + ": " + reason, ErrorCode::kUnavailable};
  error.cause = step + ": " + reason;
  return error;
}

// The helper's answer to one request, or why it gave none. Nothing of the request (a password)
// is in the error.
Result<bool> Ask(int fd, pid_t pid, const std::string& hash, std::string_view password) {
  // The implementation this process verifies with now (core/password.h): the server may
  // switch to a faster one after it has started, and the helpers follow request by request.
  const uint32_t sizes[3] = {static_cast<uint32_t>(hash.size()),
                             static_cast<uint32_t>(password.size()),
                             static_cast<uint32_t>(PasswordBackend())};
  std::string request(sizeof(sizes) + hash.size() + password.size(), '\0');
  std::memcpy(request.data(), sizes, sizeof(sizes));
  std::memcpy(request.data() + sizeof(sizes), hash.data(), hash.size());
  std::memcpy(request.data() + sizeof(sizes) + hash.size(), password.data(), password.size());
  const bool sent = WriteAll(fd, request.data(), request.size());
  const int send_errno = errno;
  sodium_memzero(request.data(), request.size());
  if (!sent) {
    const std::string reason = std::strerror(send_errno);
    return HelperFailed(pid, "send: " + reason, "send: " + reason);
  }
  char answer = 0;
  errno = 0;
  const ReadResult read = ReadAll(fd, &answer, 1);
  if (read != ReadResult::kDone) return ReceiveFailed(pid, read, errno);
  if (answer != 0 && answer != 1) return HelperFailed(pid, "bad answer", "bad answer");
  return answer == 1;
}

}  // namespace

HasherProcesses::HasherProcesses(std::string binary, int nice, Metrics& metrics)
    : binary_(std::move(binary)),
      nice_(nice),
      metrics_(metrics),
      log_("hash helper", spdlog::level::warn) {}

Result<std::unique_ptr<HasherProcesses>> HasherProcesses::Start(std::string binary, size_t count,
                                                                int nice, Metrics& metrics) {
  std::unique_ptr<HasherProcesses> hashers(new HasherProcesses(std::move(binary), nice, metrics));
  hashers->pids_.assign(count, -1);
  for (size_t slot = 0; slot < count; ++slot) {
    Result<Helper> helper = hashers->Spawn(slot);
    if (!helper) return helper.failure();
    hashers->idle_.push_back(*helper);
  }
  return hashers;
}

HasherProcesses::~HasherProcesses() {
  for (Helper& helper : idle_) Stop(&helper);  // all are idle: the hash pool has stopped
}

Result<HasherProcesses::Helper> HasherProcesses::Spawn(size_t slot) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    return StartFailed("socketpair", "", errno);
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 0);  // dup2 clears close-on-exec
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  const std::string parent = std::to_string(::getpid());
  const std::string nice = std::to_string(nice_);
  const char* argv[] = {binary_.c_str(), "--parent", parent.c_str(), "--nice", nice.c_str(),
                        nullptr};
  char* const empty_environment[] = {nullptr};
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, binary_.c_str(), &actions, nullptr, const_cast<char**>(argv),
                         empty_environment);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    return StartFailed("cannot run", " " + binary_, rc);
  }
  // A helper that hangs counts as failed: no hash at sane parameters takes a minute.
  const timeval timeout{kHelperTimeoutSeconds, 0};
  ::setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    pids_[slot] = pid;
  }
  return Helper{slot, pid, fds[0]};
}

void HasherProcesses::Stop(Helper* helper) {
  if (helper->fd >= 0) ::close(helper->fd);
  if (helper->pid > 0) {
    ::kill(helper->pid, SIGKILL);
    while (::waitpid(helper->pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  *helper = Helper{helper->slot};
  std::lock_guard<std::mutex> lock(mutex_);
  pids_[helper->slot] = -1;
}

HasherProcesses::Helper HasherProcesses::Take() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_ready_.wait(lock, [this] { return !idle_.empty(); });
  Helper helper = idle_.front();
  idle_.pop_front();
  return helper;
}

void HasherProcesses::Give(Helper helper) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    idle_.push_back(helper);
  }
  idle_ready_.notify_one();
}

bool HasherProcesses::Verify(const std::string& hash, std::string_view password) {
  if (hash.size() > kMaxHashBytes || password.size() > kMaxPasswordBytes) {
    return VerifyPassword(hash, password);
  }
  Helper helper = Take();
  std::optional<bool> answer = AskOrLog(helper, hash, password);
  if (!answer) {
    // Died, closed or answered nonsense (or an earlier replacement failed): replace it once.
    Stop(&helper);
    Result<Helper> fresh = Spawn(helper.slot);
    if (fresh) {
      metrics_.Count("hash_helpers", "replaced");
      helper = *fresh;
      answer = AskOrLog(helper, hash, password);
    } else {
      log_.Write("start", fresh.failure());
    }
    if (!answer) Stop(&helper);  // the slot stays empty; its next use spawns again
  }
  Give(helper);
  if (answer) return *answer;
  metrics_.Count("hash_helpers", "in_process");
  log_.Write("verify", "failed twice", "verifying in the server process");
  return VerifyPassword(hash, password);
}

std::optional<bool> HasherProcesses::AskOrLog(const Helper& helper, const std::string& hash,
                                              std::string_view password) {
  if (helper.fd < 0) return std::nullopt;  // its start failed, and was logged then
  Result<bool> answer = Ask(helper.fd, helper.pid, hash, password);
  if (answer) return *answer;
  log_.Write("verify", answer.failure());
  return std::nullopt;
}

std::vector<pid_t> HasherProcesses::Pids() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<pid_t> live;
  for (pid_t pid : pids_) {
    if (pid > 0) live.push_back(pid);
  }
  return live;
}

}  // namespace authgate
