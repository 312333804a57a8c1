// HasherProcesses: Argon2id verifications in helper processes, one per hash worker.
//
// Why: libsodium maps and unmaps 19 MiB for every hash, and parallel hashes in one
// multi-threaded process pay for that together (one address space: its lock, TLB shootdowns to
// the other cores). On 2 cores, one single-threaded process per hash verified ~10% more per
// second than threads (docs/benchmarks.md).
//
// Each helper is the `authgate-hasher` binary (src/cli/hasher_main.cc), started with
// posix_spawn, an empty environment, the socket as stdin, /dev/null as stdout and no other
// descriptor (stderr kept), speaking service/hash_protocol.h. A helper that fails (died,
// closed, answered nonsense, or silent for 60 s) is killed and replaced once; if the new one fails
// too, the verification runs in this process: a login never fails because of a helper. Each failure
// is logged at `warn` with its cause ("timeout", "closed", "cannot run: ..."), one line per second
// per cause (service/failure_log.h); the lines never hold a password or a hash. Helpers exit at
// EOF and die with the server (PR_SET_PDEATHSIG). Thread-safe; Verify waits while every helper
// is busy (the server runs as many helpers as hash workers).
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "service/failure_log.h"
#include "service/metrics.h"
#include "service/password_verifier.h"

namespace authgate {

class HasherProcesses final : public PasswordVerifier {
 public:
  // Starts `count` helpers running `binary` (`--parent PID --nice N`) at priority `nice`.
  // Failures are counted in `metrics`: authgate_hash_helper_events_total{event="replaced"} for
  // a helper started anew, {event="in_process"} for a verification the server ran itself.
  static Result<std::unique_ptr<HasherProcesses>> Start(std::string binary, size_t count,
                                                        int nice, Metrics& metrics);
  ~HasherProcesses() override;  // closes the sockets, kills and reaps the helpers
  HasherProcesses(const HasherProcesses&) = delete;
  HasherProcesses& operator=(const HasherProcesses&) = delete;

  bool Verify(const std::string& hash, std::string_view password) override;

  std::vector<pid_t> Pids() const;  // the live helpers' process ids (tests)

 private:
  struct Helper {
    size_t slot = 0;  // its index in pids_, kept by replacements
    pid_t pid = -1;   // -1: none (its start failed; the next use tries again)
    int fd = -1;
  };
  HasherProcesses(std::string binary, int nice, Metrics& metrics);
  // Starts a helper into `slot` (records its pid), or leaves the slot empty on failure.
  Result<Helper> Spawn(size_t slot);
  void Stop(Helper* helper);  // kills and reaps; the slot stays, empty
  Helper Take();
  void Give(Helper helper);
  // The helper's answer, or nullopt (logged) when it failed or there is none in its slot.
  std::optional<bool> AskOrLog(const Helper& helper, const std::string& hash,
                               std::string_view password);

  const std::string binary_;
  const int nice_;
  Metrics& metrics_;
  FailureLog log_;
  mutable std::mutex mutex_;
  std::condition_variable idle_ready_;
  std::deque<Helper> idle_;  // taken from the front, given back at the end: each takes turns
  std::vector<pid_t> pids_;  // by slot, idle or in use; -1 for an empty slot
};

}  // namespace authgate
