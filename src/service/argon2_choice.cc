#include "service/argon2_choice.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "core/random.h"

namespace authgate {
namespace {

// The faster of two timed verifications after one warm-up, in milliseconds; a backend that
// fails to verify its own hash is out of the running.
std::optional<double> TimeVerify(Argon2Backend backend, const std::string& hash,
                                 const std::string& password) {
  if (!VerifyArgon2id(backend, hash, password)) return std::nullopt;
  double best = 0;
  for (int i = 0; i < 2; ++i) {
    const auto started = std::chrono::steady_clock::now();
    const bool ok = VerifyArgon2id(backend, hash, password);
    const std::chrono::duration<double, std::milli> took =
        std::chrono::steady_clock::now() - started;
    if (!ok) return std::nullopt;
    best = i == 0 ? took.count() : std::min(best, took.count());
  }
  return best;
}

}  // namespace

Result<Argon2Choice> ChooseArgon2Backend(const PasswordParams& params,
                                         const std::string& configured,
                                         const std::atomic<bool>* stop) {
  Argon2Choice choice;
  if (configured != "auto") {
    std::optional<Argon2Backend> named = ParseArgon2Backend(configured);
    if (!named) return Error{"password.implementation: unknown '" + configured + "'"};
    choice.backend = *named;
    return choice;
  }
  const std::string password = RandomPassword(24);
  Result<std::string> hash = HashPassword(password, params);
  if (!hash) return hash.failure();
  for (Argon2Backend backend : AllArgon2Backends()) {
    if (stop != nullptr && stop->load()) return Error{"stopped"};
    std::optional<double> ms = TimeVerify(backend, *hash, password);
    if (ms) choice.timings_ms.emplace_back(backend, *ms);
  }
  if (choice.timings_ms.empty()) return Error{"no Argon2id implementation verifies on this machine"};
  std::sort(choice.timings_ms.begin(), choice.timings_ms.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  choice.backend = choice.timings_ms.front().first;
  return choice;
}

BackgroundArgon2Choice::BackgroundArgon2Choice(PasswordParams params, std::string configured,
                                               std::function<void(Result<Argon2Choice>)> chosen)
    : thread_([this, params, configured = std::move(configured), chosen = std::move(chosen)] {
        ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 10);
        Result<Argon2Choice> choice = ChooseArgon2Backend(params, configured, &stop_);
        if (!stop_.load()) chosen(std::move(choice));
      }) {}

BackgroundArgon2Choice::~BackgroundArgon2Choice() {
  stop_.store(true);
  thread_.join();
}

std::string DescribeTimings(const Argon2Choice& choice) {
  if (choice.timings_ms.empty()) return "configured";
  std::string out;
  for (const auto& [backend, ms] : choice.timings_ms) {
    char line[64];
    std::snprintf(line, sizeof(line), "%s%s %.1f ms", out.empty() ? "" : ", ",
                  std::string(Argon2BackendName(backend)).c_str(), ms);
    out += line;
  }
  return out;
}

}  // namespace authgate
