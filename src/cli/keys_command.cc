#include <iostream>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/jwt.h"
#include "service/key_ring.h"

namespace authgate::cli {

void RegisterKeys(CLI::App& app, const GlobalOptions& options, int* exit_code) {
  CLI::App* keys = app.add_subcommand("keys", "list or rotate the token signing keys");
  keys->require_subcommand(1);
  CLI::App* list = keys->add_subcommand("list", "list signing keys (never prints key material)");
  list->callback([&options, exit_code] {
    Result<Context> context = OpenContext(options);
    if (!context) {
      *exit_code = Fail(context.error());
      return;
    }
    Result<std::vector<SigningKeyRecord>> records = context->store->ListSigningKeys();
    if (!records) {
      *exit_code = Fail(records.error());
      return;
    }
    const int64_t now = SystemClock().NowSeconds();
    std::cout << "KID               ALG    CREATED     STATE\n";
    for (const SigningKeyRecord& key : *records) {
      int64_t until = key.retired_at + context->config.tokens.access_verifies_s();
      std::string state = key.retired_at == 0 ? "current"
                          : until > now       ? "retired, verifies until " + std::to_string(until)
                                              : "expired";
      std::printf("%-17s %-6s %-11lld %s\n", key.kid.c_str(), key.alg.c_str(),
                  static_cast<long long>(key.created_at), state.c_str());
    }
  });
  CLI::App* rotate =
      keys->add_subcommand("rotate", "add a new signing key of tokens.alg; retire the current one");
  rotate->callback([&options, exit_code] {
    Result<Context> context = OpenContext(options);
    if (!context) {
      *exit_code = Fail(context.error());
      return;
    }
    JwtAlg alg = JwtAlg::kHS256;
    ParseJwtAlg(context->config.tokens.alg, &alg);
    KeyRing ring(*context->store, *context->box, alg, context->config.tokens.access_verifies_s());
    Result<std::string> kid = ring.Rotate(SystemClock().NowSeconds());
    if (!kid) {
      *exit_code = Fail(kid.error());
      return;
    }
    std::cout << "New " << context->config.tokens.alg << " signing key " << *kid
              << "; the previous key verifies until its tokens expire." << std::endl;
  });
}

}  // namespace authgate::cli
