#include "cli/common.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/clock.h"
#include "core/random.h"
#include "core/username.h"
#include "service/audit.h"
#include "service/key_ring.h"
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

std::string Printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte == '\\') {
      out += "\\\\";
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    }
  }
  return out;
}

int Fail(const std::string& message) {
  std::cerr << "authgate: " << Printable(message) << std::endl;
  return 1;
}

bool ValidUsername(const std::string& name) { return IsPossibleUsername(name); }

Error NoSuchUser(const std::string& username) {
  return Error{"no such user '" + username + "'", ErrorCode::kNotFound};
}

Result<UserRecord> RequireUser(Store& store, const std::string& username) {
  Result<std::optional<UserRecord>> found = store.FindUserByName(username);
  if (!found) return found.failure();
  if (!found->has_value()) return NoSuchUser(username);
  return **found;
}

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

namespace {

// Creates the key file (0600, in a 0700 directory). link() fails if another process created
// the key meanwhile: then that key is the one used.
Status CreateMasterKey(const std::string& path) {
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
  if (!written || (::link(temp.c_str(), path.c_str()) != 0 && errno != EEXIST)) {
    ::unlink(temp.c_str());
    return Error{"cannot create master key '" + path + "': " + std::strerror(errno)};
  }
  ::unlink(temp.c_str());
  return Status::Ok();
}

// A key that group or others could read is a leaked key, one they could write a planted key
// (as ssh refuses such private keys). Checked on the open descriptor: that is the file a
// symlink leads to, and the very file read next.
Status CheckKeyFile(int fd, const std::string& path) {
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return Error{"cannot read master key '" + path + "': " + std::strerror(errno)};
  }
  if (!S_ISREG(info.st_mode)) return Error{"master key file " + path + " is not a regular file"};
  if ((info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return Error{"master key file " + path + " has mode " + mode +
                 "; it must be 0600 or stricter"};
  }
  return Status::Ok();
}

}  // namespace

Result<SecretBytes> LoadMasterKey(const std::string& path, bool create) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not block
  if (fd < 0 && errno == ENOENT && create) {
    Status created = CreateMasterKey(path);
    if (!created) return created.failure();
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  }
  if (fd < 0) return Error{"cannot read master key '" + path + "': " + std::strerror(errno)};
  Status usable = CheckKeyFile(fd, path);
  if (!usable) {
    ::close(fd);
    return usable.failure();
  }
  SecretBytes key(kMasterKeyBytes + 1);
  ssize_t got = ::read(fd, key.data(), key.size());
  ::close(fd);
  if (got != static_cast<ssize_t>(kMasterKeyBytes)) {
    return Error{"master key '" + path + "' must be exactly " + std::to_string(kMasterKeyBytes) +
                 " bytes"};
  }
  return SecretBytes(std::vector<unsigned char>(key.data(), key.data() + kMasterKeyBytes));
}

namespace {

// The master key's check value: a known text sealed under the key, kept in the store's
// settings. It opens only under the key that sealed it, so a command or a server started with
// another key stops before it writes secrets the others could never read.
constexpr char kKeyCheckSetting[] = "master_key_check";
constexpr std::string_view kKeyCheckText = "authgate master key check";
constexpr std::string_view kKeyCheckAssociatedData = "settings:master_key_check";

bool KeyOpensCheck(const CryptoBox& box, const std::string& sealed) {
  Result<SecretBytes> opened = box.Open(sealed, kKeyCheckAssociatedData);
  return opened && opened->view() == kKeyCheckText;
}

// `check` is the store's check value, read before the key was loaded. A store without one (new,
// or made before the check existed) gets one, unless the signing keys it already holds show
// that this is not their key.
Status MatchMasterKey(Store& store, const CryptoBox& box, const Config& config,
                      std::optional<std::string> check) {
  const std::string mismatch = "the master key does not match this store (" +
                               config.secrets.master_key_file +
                               " is not the key its secrets are sealed with); nothing was changed";
  if (!check) {
    JwtAlg alg = JwtAlg::kHS256;
    ParseJwtAlg(config.tokens.alg, &alg);
    Status loaded = KeyRing(store, box, alg, config.tokens.access_verifies_s()).Load();
    if (!loaded) return Error{mismatch + " (" + loaded.error() + ")"};
    Result<std::string> stored = store.PutSettingIfAbsent(
        kKeyCheckSetting, box.Seal(SecretBytes(kKeyCheckText), kKeyCheckAssociatedData));
    if (!stored) return stored.failure();
    check = *stored;
  }
  if (!KeyOpensCheck(box, *check)) return Error{mismatch};
  return Status::Ok();
}

}  // namespace

Result<Context> OpenContext(const GlobalOptions& options) {
  if (!InitCrypto()) return Error{"cannot initialize libsodium/liboath"};
  Result<Config> config = LoadConfig(options);
  if (!config) return config.failure();
  Result<std::unique_ptr<Store>> store = OpenStore(StorageUrl(options, *config),
                                                     static_cast<int>(config->storage.timeout_ms));
  if (!store) return store.failure();
  Result<std::optional<std::string>> check = (*store)->GetSetting(kKeyCheckSetting);
  if (!check) return check.failure();
  // A store that has a check value has a key already: a missing key file is an error, not a
  // reason to make a new key.
  Result<SecretBytes> master =
      LoadMasterKey(config->secrets.master_key_file, !check->has_value());
  if (!master) return master.failure();
  auto box = std::make_unique<CryptoBox>(std::move(*master));
  Status matched = MatchMasterKey(**store, *box, *config, *check);
  if (!matched) return matched.failure();
  Context context;
  context.config = std::move(*config);
  context.store = std::move(*store);
  context.box = std::move(box);
  return context;
}

}  // namespace authgate::cli
