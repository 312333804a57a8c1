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

// The helper's answer to one request, or nullopt when the helper failed.
std::optional<bool> Ask(int fd, const std::string& hash, std::string_view password) {
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
  sodium_memzero(request.data(), request.size());
  char answer = 0;
  if (!sent || ReadAll(fd, &answer, 1) != ReadResult::kDone) return std::nullopt;
  if (answer != 0 && answer != 1) return std::nullopt;
  return answer == 1;
}

}  // namespace

HasherProcesses::HasherProcesses(std::string binary, int nice, Metrics& metrics)
    : binary_(std::move(binary)), nice_(nice), metrics_(metrics) {}

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
    return Error{std::string("hash helper: socketpair: ") + std::strerror(errno)};
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
    return Error{"hash helper: cannot run " + binary_ + ": " + std::strerror(rc)};
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
  std::optional<bool> answer;
  if (helper.fd >= 0) answer = Ask(helper.fd, hash, password);
  if (!answer) {
    // Died, closed or answered nonsense (or an earlier replacement failed): replace it once.
    Stop(&helper);
    Result<Helper> fresh = Spawn(helper.slot);
    if (fresh) {
      metrics_.Count("hash_helpers", "replaced");
      helper = *fresh;
      answer = Ask(helper.fd, hash, password);
    } else {
      spdlog::warn("{}", fresh.error());
    }
    if (!answer) Stop(&helper);  // the slot stays empty; its next use spawns again
  }
  Give(helper);
  if (answer) return *answer;
  metrics_.Count("hash_helpers", "in_process");
  spdlog::warn("hash helper failed twice: verifying in the server process");
  return VerifyPassword(hash, password);
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
