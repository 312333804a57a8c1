// What every command shares: the global options (--config, --db), the configuration with its
// environment overrides, the choice of store (SPEC.md §7 precedence) and the master key.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/config.h"
#include "core/crypto_box.h"
#include "core/result.h"
#include "store/store.h"

namespace authgate::cli {

struct GlobalOptions {
  std::string config_file;
  std::string db;
};

// Everything a command needs to act on the store.
struct Context {
  Config config;
  std::unique_ptr<Store> store;
  std::unique_ptr<CryptoBox> box;
};

Result<Config> LoadConfig(const GlobalOptions& options);
// --db, else AUTHGATE_DB, else AUTHGATE_STORAGE_URL / the file's storage.url, else the default.
std::string StorageUrl(const GlobalOptions& options, const Config& config);
// Reads the master key; creates it (0600, in a 0700 directory) when absent and `create` is set.
// Refuses a file that group or others may read or write, or that is not exactly the key's size.
Result<SecretBytes> LoadMasterKey(const std::string& path, bool create);
// Config + store + master key. The key is created only for a store that has no key check value
// yet; a key that does not match the store's check value is refused before anything is written.
Result<Context> OpenContext(const GlobalOptions& options);

// Writes one audit line for an operator action, when log.audit_file names a file (standard
// output belongs to the command's own output).
void AuditOperatorAction(const Context& context, const std::string& event,
                         const std::string& username, const std::string& detail);

// `text` with every byte outside printable ASCII written as \xNN (and a backslash as \\), so
// input echoed in an error line (a user name, a file's content) cannot drive the terminal.
std::string Printable(std::string_view text);

// Prints "authgate: <message>" (Printable) on stderr and returns the exit code 1.
int Fail(const std::string& message);

// Usernames accepted by `user add`: 1–64 characters of [A-Za-z0-9._@+-].
bool ValidUsername(const std::string& name);

// The user named `username`; a kNotFound error "no such user 'NAME'" when there is none.
Error NoSuchUser(const std::string& username);
Result<UserRecord> RequireUser(Store& store, const std::string& username);

// A command's callback: runs `body` with an open context; a failure to open it or an error
// `body` returns becomes one line on stderr and exit code 1.
template <typename Body>
std::function<void()> WithContext(const GlobalOptions& options, int* exit_code, Body body) {
  return [&options, exit_code, body] {
    Result<Context> context = OpenContext(options);
    if (!context) {
      *exit_code = Fail(context.error());
      return;
    }
    Status status = body(*context);
    if (!status) *exit_code = Fail(status.error());
  };
}

}  // namespace authgate::cli
