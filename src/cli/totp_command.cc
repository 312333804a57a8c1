#include <iostream>
#include <optional>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/random.h"
#include "core/totp.h"

namespace authgate::cli {

void RegisterTotp(CLI::App& app, int* exit_code) {
  struct Options {
    std::string secret;
    std::optional<int64_t> time;
  };
  auto options = std::make_shared<Options>();
  CLI::App* totp = app.add_subcommand(
      "totp", "print the current 6-digit TOTP code of a base32 secret (RFC 6238, SHA-1, 30 s)");
  totp->add_option("SECRET", options->secret, "base32 shared secret")->required();
  totp->add_option("--time", options->time, "unix time in seconds (default: now)");
  totp->callback([options, exit_code] {
    if (!InitCrypto()) {
      *exit_code = Fail("cannot initialize liboath");
      return;
    }
    std::optional<std::string> secret = Base32Decode(options->secret);
    if (!secret) {
      *exit_code = Fail("the secret is not valid base32 (A-Z, 2-7)");
      return;
    }
    int64_t now = options->time.value_or(SystemClock().NowSeconds());
    if (now < 0) {
      *exit_code = Fail("--time must not be negative");
      return;
    }
    std::cout << TotpCode(SecretBytes(*secret), now) << std::endl;
  });
}

}  // namespace authgate::cli
