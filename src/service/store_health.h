// StoreHealth: whether the store answers reads, as last seen by the background probe (the change
// follower's reads) and by the calls themselves (SPEC §10.1); whether it commits writes, as last
// seen by the write probe (write_probe.h, issue 16.2); and how many store calls failed.
//
// While reads fail, work that needs the store is refused at once (503) instead of queueing
// behind calls that wait for a timeout: a circuit that a failed call opens and only a successful
// read probe closes again. Ready (what /readyz reports) needs both halves: reads answer, and a
// heartbeat committed within kWritesFreshFor. A store that reads but cannot commit (a full disk,
// a read-only database) is not ready, yet its circuit stays closed: what only reads (a cold
// verify) goes on working, and what writes fails on its own.
//
// Every failure it is told of is logged at `error` with its operation and cause, at most one
// line per second per operation and cause (service/failure_log.h), e.g.
//   store failure: op="login: record failed attempt" cause="SQLSTATE 58030" suppressed=41:
//   store: could not write to file "base/16384/2619": No space left on device (SQLSTATE 58030)
// No secret can be in such a line. The operation is a literal of the caller's. The message is
// the database's (store/sql_connection.h): SQLite's messages name tables and columns, never a
// bound value; of PostgreSQL's only the primary message is kept, never its DETAIL (which
// echoes key values and whole rows). And no store call is ever given a password, a token, an
// otp or a TOTP secret to echo: passwords and refresh tokens reach the store only as hashes, a
// login's otp only as its time step, TOTP secrets and signing keys only sealed. The values a
// store call does get and a message might quote are user names, user and session ids, hashes
// and sealed bytes; the only unique keys (whose violations PostgreSQL would quote in a DETAIL)
// are user names, ids (user, session, change), key ids, setting names, refresh-token hashes and
// (user id, otp step) pairs.
//
// Thread-safe; Up() and Ready() are lock-free and cheap enough for every request.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <limits>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "service/failure_log.h"

namespace authgate {

class StoreHealth {
 public:
  // `clock` times the log's one-second windows.
  explicit StoreHealth(const Clock& clock);

  using SteadyTime = std::chrono::steady_clock::time_point;
  // How long one committed heartbeat keeps the store writable: two write probe intervals, so a
  // commit that hangs (a lock, a synchronous standby gone) makes the instance unready within
  // 2 s, however long storage.timeout_ms lets the commit wait.
  static constexpr std::chrono::milliseconds kWritesFreshFor{2000};

  bool Up() const { return up_.load(std::memory_order_acquire); }
  // A store call that the answer depends on failed: logged, counted, and the circuit opens.
  // `operation` names the call in the use case ("login: record failed attempt").
  void CallFailed(const Error& error, std::string_view operation);
  // A best-effort write failed after the answer was decided (a rehash, a reset of a count that
  // is reset again at the next success): logged and counted, since the request itself succeeded.
  void WriteFailed(const Error& error, std::string_view operation);
  // A call of background work failed (the probe's read, a prune): logged only. The probe's
  // verdict itself goes to Probed.
  void BackgroundCallFailed(const Error& error, std::string_view operation);
  // The background probe's verdict: the only way to close the circuit.
  void Probed(bool answered) { up_.store(answered, std::memory_order_release); }

  // The write probe's verdict at `now`: a heartbeat committed, or failed (writable no more).
  void WriteProbed(bool committed, SteadyTime now) {
    committed_at_ns_.store(committed ? Nanoseconds(now) : kNever, std::memory_order_release);
  }
  // True when the last heartbeat committed, at most kWritesFreshFor before `now`. False before
  // the first one.
  bool Writable(SteadyTime now) const {
    const int64_t committed_at = committed_at_ns_.load(std::memory_order_acquire);
    return committed_at != kNever &&
           Nanoseconds(now) - committed_at <= std::chrono::nanoseconds(kWritesFreshFor).count();
  }
  // What /readyz answers: reads answer and writes commit.
  bool Ready(SteadyTime now) const { return Up() && Writable(now); }

  // Failed store calls of requests since start (the metric authgate_store_errors_total).
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
  static int64_t Nanoseconds(SteadyTime time) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  }

  std::atomic<bool> up_{true};
  std::atomic<int64_t> committed_at_ns_{kNever};
  std::atomic<uint64_t> errors_{0};
  FailureLog log_;
};

}  // namespace authgate
