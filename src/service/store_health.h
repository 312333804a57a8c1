// StoreHealth: whether the store answers, as last seen by the background probe (the change
// follower's reads) and by the calls themselves (SPEC §10.1), how many store calls failed, and
// why. While it is down, work that needs the store is refused at once (503) instead of queueing
// behind calls that wait for a timeout: a circuit that a failed call opens and only a
// successful probe closes again.
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
// Thread-safe; Up() is lock-free and cheap enough for every request.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"
#include "service/failure_log.h"

namespace authgate {

class StoreHealth {
 public:
  // `clock` times the log's one-second windows.
  explicit StoreHealth(const Clock& clock);

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
  // Failed store calls of requests since start (the metric authgate_store_errors_total).
  uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> up_{true};
  std::atomic<uint64_t> errors_{0};
  FailureLog log_;
};

}  // namespace authgate
