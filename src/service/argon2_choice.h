// ChooseArgon2Backend: which Argon2id implementation verifies passwords on this machine
// (`password.implementation`): the configured one, or with "auto" the fastest at the configured
// parameters, timed here — the winner differs between CPUs (each library has its own SIMD
// paths), so the choice is made where the server runs, at every start.
//
// Timing runs on the calling thread: per backend one warm-up verification and two timed ones
// (the faster counts), about 12 verifications — 0.3 to 0.6 s at the OWASP parameters, more with
// costlier ones. The server does it on a thread of its own (BackgroundArgon2Choice) so that it
// starts serving at once, verifying with libsodium until the winner is known.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/argon2_backends.h"
#include "core/password.h"
#include "core/result.h"

namespace authgate {

struct Argon2Choice {
  Argon2Backend backend = Argon2Backend::kLibsodium;
  std::vector<std::pair<Argon2Backend, double>> timings_ms;  // empty when configured by name
};

// `configured` is "auto" or a backend name (core/config.cc checks it). Gives up with an error
// between two verifications once `*stop` is set.
Result<Argon2Choice> ChooseArgon2Backend(const PasswordParams& params,
                                         const std::string& configured,
                                         const std::atomic<bool>* stop = nullptr);

// Chooses on a thread of its own, at a lower priority than serving (nice 10), and hands the
// choice to `chosen` there (which calls SetPasswordBackend). The destructor stops the timing
// between two verifications and joins: at most one verification's wait.
class BackgroundArgon2Choice {
 public:
  BackgroundArgon2Choice(PasswordParams params, std::string configured,
                         std::function<void(Result<Argon2Choice>)> chosen);
  ~BackgroundArgon2Choice();
  BackgroundArgon2Choice(const BackgroundArgon2Choice&) = delete;
  BackgroundArgon2Choice& operator=(const BackgroundArgon2Choice&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// "libargon2 12.3 ms, libsodium 20.1 ms, ...": for the startup log line.
std::string DescribeTimings(const Argon2Choice& choice);

}  // namespace authgate
