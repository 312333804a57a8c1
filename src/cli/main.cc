// authgate: the command line (serve, user, totp, keys). See SPEC.md §7.
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"

namespace {

void FallThrough(CLI::App& app) {
  app.fallthrough();
  for (CLI::App* sub : app.get_subcommands({})) FallThrough(*sub);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace authgate::cli;
  ::umask(077);  // the store, its WAL, the master key and audit files are private
  CLI::App app{"authgate: authentication and authorization server (login, tokens, TOTP)",
               "authgate"};
  app.set_version_flag("--version", std::string("authgate ") + AUTHGATE_VERSION);
  app.require_subcommand(1);
  GlobalOptions options;
  app.add_option("--config", options.config_file, "TOML configuration file");
  app.add_option("--db", options.db,
                 "store URL: sqlite:PATH or postgresql://user:pass@host:port/dbname");
  int exit_code = 0;
  RegisterServe(app, options, &exit_code);
  RegisterUser(app, options, &exit_code);
  RegisterTotp(app, &exit_code);
  RegisterKeys(app, options, &exit_code);
  RegisterClient(app, &exit_code);
  FallThrough(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    for (char& c : message) {
      if (c == '\n') c = ' ';
    }
    std::cerr << "authgate: " << Printable(message) << " (see authgate --help)" << std::endl;
    return 2;
  }
  return exit_code;
}
