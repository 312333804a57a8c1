// The command groups of SPEC.md §7. Each Register* adds its subcommands to the application;
// the callbacks set *exit_code and never throw.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/common.h"

namespace authgate::cli {

void RegisterServe(CLI::App& app, const GlobalOptions& options, int* exit_code);
void RegisterUser(CLI::App& app, const GlobalOptions& options, int* exit_code);
// `user sessions` and `user revoke` (SPEC §10.4), added to the `user` command.
void RegisterUserSessions(CLI::App& user, const GlobalOptions& options, int* exit_code);
void RegisterTotp(CLI::App& app, int* exit_code);
void RegisterKeys(CLI::App& app, const GlobalOptions& options, int* exit_code);
void RegisterClient(CLI::App& app, int* exit_code);

}  // namespace authgate::cli
