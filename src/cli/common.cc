#include "cli/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/clock.h"
#include "core/random.h"
#include "core/username.h"
#include "service/audit.h"
#include "store/open_store.h"

extern char** environ;

namespace authgate::cli {

void AuditOperatorAction(const Context& context, const std::string& event,
                         const std::string& username, const std::string& detail) {
  if (context.config.log.audit_file.empty()) return;
  Result<std::unique_ptr<AuditLog>> audit = AuditLog::Open(context.config.log.audit_file);
  if (!audit) return;
  (*audit)->Write(event, {{"username", username}, {"detail", detail}, {"by", "cli"}},
                  SystemClock().NowMillis());
}

int Fail(const std::string& message) {
  std::cerr << "authgate: " << message << std::endl;
  return 1;
}

bool ValidUsername(const std::string& name) { return IsPossibleUsername(name); }

Result<Config> LoadConfig(const GlobalOptions& options) {
  std::string text;
  if (!options.config_file.empty()) {
    std::ifstream file(options.config_file, std::ios::binary);
    if (!file) {
      return Error{"cannot read config file '" + options.config_file + "': " +
                   std::strerror(errno)};
    }
    std::ostringstream buffer;
    buffer << file.rdbuf();
    text = buffer.str();
    if (text.empty()) text = "\n";  // an empty file is valid TOML: defaults apply
  }
  Environment environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view item(*entry);
    if (!item.starts_with("AUTHGATE_")) continue;
    size_t equals = item.find('=');
    if (equals == std::string_view::npos) continue;
    environment.emplace(std::string(item.substr(0, equals)), std::string(item.substr(equals + 1)));
  }
  return ParseConfig(text, environment);
}

std::string StorageUrl(const GlobalOptions& options, const Config& config) {
  if (!options.db.empty()) return options.db;
  const char* db = std::getenv("AUTHGATE_DB");
  if (db != nullptr && *db != '\0') return db;
  return config.storage.url;
}

Result<SecretBytes> LoadMasterKey(const std::string& path, bool create) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT && create) {
    std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty() && !std::filesystem::exists(parent, ec)) {
      std::filesystem::create_directories(parent, ec);
      if (ec) return Error{"cannot create directory '" + parent.string() + "': " + ec.message()};
      ::chmod(parent.c_str(), 0700);
    }
    SecretBytes key = RandomSecret(kMasterKeyBytes);
    std::string temp = path + ".tmp" + std::to_string(::getpid());
    int out = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return Error{"cannot create master key '" + path + "': " + std::strerror(errno)};
    bool written = ::write(out, key.data(), key.size()) == static_cast<ssize_t>(key.size()) &&
                   ::fsync(out) == 0;
    ::close(out);
    // link() fails if another process created the key meanwhile: then that key is used.
    if (!written || (::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST)) {
      ::unlink(temp.c_str());
      return Error{"cannot create master key '" + path + "': " + std::strerror(errno)};
    }
    ::unlink(temp.c_str());
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  if (fd < 0) return Error{"cannot read master key '" + path + "': " + std::strerror(errno)};
  SecretBytes key(kMasterKeyBytes + 1);
  ssize_t got = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (got != static_cast<ssize_t>(kMasterKeyBytes)) {
    return Error{"master key '" + path + "' must be exactly " + std::to_string(kMasterKeyBytes) +
                 " bytes"};
  }
  return SecretBytes(std::vector<unsigned char>(key.data(), key.data() + kMasterKeyBytes));
}

Result<Context> OpenContext(const GlobalOptions& options) {
  if (!InitCrypto()) return Error{"cannot initialize libsodium/liboath"};
  Result<Config> config = LoadConfig(options);
  if (!config) return Error{config.error()};
  Result<std::unique_ptr<Store>> store = OpenStore(StorageUrl(options, *config),
                                                     static_cast<int>(config->storage.timeout_ms));
  if (!store) return Error{store.error()};
  Result<SecretBytes> master = LoadMasterKey(config->secrets.master_key_file, true);
  if (!master) return Error{master.error()};
  Context context;
  context.config = std::move(*config);
  context.store = std::move(*store);
  context.box = std::make_unique<CryptoBox>(std::move(*master));
  return context;
}

}  // namespace authgate::cli
