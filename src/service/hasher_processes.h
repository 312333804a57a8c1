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
// closed, answered nonsense, or silent for 60 s) is killed and replaced once; if the new one fails too, the
// verification runs in this process: a login never fails because of a helper. Helpers exit at
// EOF and die with the server (PR_SET_PDEATHSIG). Thread-safe; Verify waits while every helper
// is busy (the server runs as many helpers as hash workers).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "service/metrics.h"
#include "service/password_verifier.h"

namespace authgate {

class HasherProcesses final : public PasswordVerifier {
 public:
  // Starts `count` helpers running `binary` (`--parent PID --nice N`) at priority `nice`.
  // Replacements and in-process fallbacks are also counted in `metrics` when given
  // (authgate_hash_helper_events_total{event="replaced"|"in_process"}).
  static Result<std::unique_ptr<HasherProcesses>> Start(std::string binary, size_t count,
                                                        int nice, Metrics* metrics = nullptr);
  ~HasherProcesses() override;  // closes the sockets, kills and reaps the helpers
  HasherProcesses(const HasherProcesses&) = delete;
  HasherProcesses& operator=(const HasherProcesses&) = delete;

  bool Verify(const std::string& hash, std::string_view password) override;

  std::vector<pid_t> Pids() const;  // the live helpers (tests; the benchmark sums their memory)
  uint64_t replacements() const { return replacements_.load(); }  // helpers started anew
  uint64_t in_process_fallbacks() const { return fallbacks_.load(); }

 private:
  struct Helper {
    pid_t pid = -1;
    int fd = -1;
  };
  HasherProcesses(std::string binary, int nice, Metrics* metrics);
  Result<Helper> Spawn() const;
  static void Stop(Helper* helper);
  Helper Take();
  void Give(Helper helper);

  const std::string binary_;
  const int nice_;
  Metrics* const metrics_;
  mutable std::mutex mutex_;
  std::condition_variable idle_ready_;
  std::deque<Helper> idle_;  // taken from the front, given back at the end: each takes turns
  std::vector<pid_t> all_;  // the pids of every helper, idle or in use
  std::atomic<uint64_t> replacements_{0};
  std::atomic<uint64_t> fallbacks_{0};
};

}  // namespace authgate
