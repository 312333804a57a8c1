#include <fcntl.h>
#include <png.h>
#include <qrencode.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/password.h"
#include "core/random.h"
#include "service/totp_sealing.h"

namespace authgate::cli {
namespace {

using nlohmann::json;

constexpr size_t kGeneratedPasswordLength = 20;
constexpr size_t kTotpSecretBytes = 20;  // 160 bits, as RFC 4226 recommends
constexpr size_t kMinPasswordBytes = 12;  // a chosen password; generated ones have 20
constexpr size_t kMaxPasswordBytes = 1024;

PasswordParams ParamsOf(const Config& config) {
  return {static_cast<uint32_t>(config.password.memory_kib),
          static_cast<uint32_t>(config.password.iterations),
          static_cast<uint32_t>(config.password.parallelism)};
}

Result<std::string> ReadPasswordLine() {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty()) {
    return Error{"--password-stdin: no password on standard input"};
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Error{"--password-stdin: the password is empty"};
  if (line.size() < kMinPasswordBytes) {
    return Error{"--password-stdin: the password is shorter than 12 bytes"};
  }
  if (line.size() > kMaxPasswordBytes) {
    return Error{"--password-stdin: the password is longer than 1024 bytes"};
  }
  return line;
}

std::string OtpauthUri(const std::string& issuer, const std::string& username,
                       const std::string& secret_base32) {
  return "otpauth://totp/" + UriEncode(issuer) + ":" + UriEncode(username) +
         "?secret=" + secret_base32 + "&issuer=" + UriEncode(issuer) +
         "&algorithm=SHA1&digits=6&period=30";
}

// Prints a QR code with Unicode half blocks (two modules per character row).
void PrintQrCode(const std::string& text) {
  QRcode* code = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (code == nullptr) return;
  const int quiet = 2;
  const int size = code->width + 2 * quiet;
  auto dark = [&](int x, int y) {
    x -= quiet;
    y -= quiet;
    if (x < 0 || y < 0 || x >= code->width || y >= code->width) return false;
    return (code->data[y * code->width + x] & 1) != 0;
  };
  for (int y = 0; y < size; y += 2) {
    std::string row;
    for (int x = 0; x < size; ++x) {
      bool top = dark(x, y);
      bool bottom = y + 1 < size && dark(x, y + 1);
      // Light modules are drawn as blocks, so the code reads on a dark terminal background.
      if (!top && !bottom) row += "\u2588";
      else if (!top) row += "\u2580";
      else if (!bottom) row += "\u2584";
      else row += " ";
    }
    std::cout << row << "\n";
  }
  QRcode_free(code);
}

// Writes the QR code of `text` as a grayscale PNG (8 px modules, 4-module quiet zone). The
// file holds a TOTP secret: the process umask (077) makes it private to the operator.
Status WriteQrPng(const std::string& text, const std::string& path) {
  QRcode* code = QRcode_encodeString(text.c_str(), 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (code == nullptr) return Error{"cannot encode the QR code"};
  constexpr int kScale = 8;
  constexpr int kQuiet = 4;
  const int size = (code->width + 2 * kQuiet) * kScale;
  std::vector<unsigned char> pixels(static_cast<size_t>(size) * size, 255);
  for (int y = 0; y < code->width; ++y) {
    for (int x = 0; x < code->width; ++x) {
      if ((code->data[y * code->width + x] & 1) == 0) continue;
      for (int dy = 0; dy < kScale; ++dy) {
        unsigned char* row = &pixels[static_cast<size_t>((y + kQuiet) * kScale + dy) * size];
        std::fill_n(row + (x + kQuiet) * kScale, kScale, 0);
      }
    }
  }
  QRcode_free(code);
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(size);
  image.height = static_cast<png_uint_32>(size);
  image.format = PNG_FORMAT_GRAY;
  if (png_image_write_to_file(&image, path.c_str(), 0, pixels.data(), 0, nullptr) == 0) {
    std::string message = image.message;
    png_image_free(&image);
    return Error{"cannot write '" + path + "': " + message};
  }
  return Status::Ok();
}

struct Credentials {
  std::string secret_base32;
  std::string sealed;
};

Credentials NewTotpSecret(const CryptoBox& box, const std::string& username) {
  SecretBytes secret = RandomSecret(kTotpSecretBytes);
  return {Base32Encode(secret.view()), box.Seal(secret, TotpAssociatedData(username))};
}

// The failure count is shown as it counts now: 0 once it has expired (SPEC §10.5).
json UserJson(const UserRecord& user, const AttemptState& attempts, int64_t now,
              const Config::Lockout& lockout) {
  const LockoutPolicy policy{static_cast<int>(lockout.max_failed_attempts), lockout.duration_s};
  return {{"id", user.id},
          {"username", user.username},
          {"status", AccountStatusName(user.status)},
          {"createdAt", user.created_at},
          {"updatedAt", user.updated_at},
          {"locked", IsLocked(attempts, now)},
          {"held", user.held()},
          {"lockedUntil", IsLocked(attempts, now) ? json(attempts.locked_until) : json(nullptr)},
          {"failedAttempts", Forgotten(attempts, now, policy) ? 0 : attempts.count}};
}

// A change of one user by name: its store error, or an error when no user has that name.
Status Updated(const Result<UserUpdate>& update, const std::string& username) {
  if (!update) return update.failure();
  if (*update == UserUpdate::kNoSuchUser) return NoSuchUser(username);
  return Status::Ok();
}

// One CSV field. A field that starts with = + - @ (or tab or CR) is a formula to a spreadsheet
// (user names may start with + - @): a single quote in front keeps it text, as OWASP's
// CSV-injection guidance says. Fields with a comma, quote or line break are quoted (RFC 4180).
std::string CsvField(const std::string& text) {
  constexpr std::string_view kFormulaStarts = "=+-@\t\r";
  std::string field = text;
  if (!field.empty() && kFormulaStarts.find(field.front()) != std::string_view::npos) {
    field.insert(0, 1, '\'');
  }
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

struct ImportRow {
  std::string username;
  AccountStatus status = AccountStatus::kActive;
  int line = 0;
};

std::string Trimmed(const std::string& text) {
  size_t first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// Reads "username[,status]" lines (a first line starting with "username" is a header).
Result<std::vector<ImportRow>> ReadImportFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"cannot read '" + path + "': " + std::strerror(errno)};
  std::vector<ImportRow> rows;
  std::set<std::string> seen;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = Trimmed(line);
    if (line.empty() || (number == 1 && line.rfind("username", 0) == 0)) continue;
    size_t comma = line.find(',');
    ImportRow row;
    row.line = number;
    row.username = Trimmed(line.substr(0, comma));
    std::string status = comma == std::string::npos ? "active" : Trimmed(line.substr(comma + 1));
    std::string where = path + ":" + std::to_string(number) + ": ";
    if (!ValidUsername(row.username)) return Error{where + "invalid username '" + row.username + "'"};
    if (!ParseAccountStatus(status, &row.status)) return Error{where + "invalid status '" + status + "'"};
    if (!seen.insert(row.username).second) {
      return Error{where + "username '" + row.username + "' appears twice"};
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return Error{"'" + path + "' has no users"};
  return rows;
}

// One line of progress on a terminal's stderr; nothing when stderr is not a terminal.
void ShowProgress(size_t done, size_t total) {
  if (!isatty(STDERR_FILENO)) return;
  constexpr int kWidth = 40;
  int filled = static_cast<int>(kWidth * done / total);
  std::cerr << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, ' ') << "] "
            << done << "/" << total << (done == total ? "\n" : "") << std::flush;
}

}  // namespace

void RegisterUser(CLI::App& app, const GlobalOptions& options, int* exit_code) {
  CLI::App* user = app.add_subcommand("user", "provision and manage API accounts");
  user->require_subcommand(1);

  struct AddOptions {
    std::string name;
    bool password_stdin = false;
    std::string status = "active";
    bool json = false;
    std::string qr_png;
  };
  auto add_options = std::make_shared<AddOptions>();
  CLI::App* add = user->add_subcommand(
      "add", "create a user; prints its password (if generated), TOTP secret and otpauth URI");
  add->add_option("NAME", add_options->name, "username")->required();
  add->add_flag("--password-stdin", add_options->password_stdin,
                "read the password from one line of standard input");
  add->add_option("--status", add_options->status, "active, unverified or suppressed");
  add->add_flag("--json", add_options->json, "print one JSON object");
  add->add_option("--qr-png", add_options->qr_png,
                  "also write the otpauth URI's QR code to this PNG file (mode 0600)");
  add->callback(WithContext(options, exit_code, [add_options](Context& context) -> Status {
    const AddOptions& o = *add_options;
    if (!ValidUsername(o.name)) {
      return Error{"invalid username '" + o.name + "': use 1-64 characters of A-Z a-z 0-9 . _ @ + -"};
    }
    AccountStatus status;
    if (!ParseAccountStatus(o.status, &status)) {
      return Error{"invalid status '" + o.status + "': use active, unverified or suppressed"};
    }
    std::string password;
    bool generated = !o.password_stdin;
    if (o.password_stdin) {
      Result<std::string> line = ReadPasswordLine();
      if (!line) return line.failure();
      password = *line;
    } else {
      password = RandomPassword(kGeneratedPasswordLength);
    }
    Result<std::string> hash = HashPassword(password, ParamsOf(context.config));
    if (!hash) return hash.failure();
    Credentials totp = NewTotpSecret(*context.box, o.name);
    std::string uri = OtpauthUri(context.config.tokens.issuer, o.name, totp.secret_base32);
    if (!o.qr_png.empty()) {  // before the user exists: a failure here leaves nothing behind
      Status written = WriteQrPng(uri, o.qr_png);
      if (!written) return written;
    }
    NewUser record{o.name, *hash, totp.sealed, status};
    Result<int64_t> id = context.store->CreateUser(record, SystemClock().NowSeconds());
    if (!id) {
      if (!o.qr_png.empty()) std::remove(o.qr_png.c_str());
      return id.failure();
    }
    if (o.json) {
      json out = {{"id", *id}, {"username", o.name}, {"status", AccountStatusName(status)}};
      if (generated) out["password"] = password;
      out["totpSecret"] = totp.secret_base32;
      out["otpauthUri"] = uri;
      std::cout << out.dump() << std::endl;
      return Status::Ok();
    }
    std::cout << "Created user '" << o.name << "' (id " << *id << ", status "
              << AccountStatusName(status) << ").\n";
    if (generated) std::cout << "Password:     " << password << "\n";
    std::cout << "TOTP secret:  " << totp.secret_base32 << "\n"
              << "otpauth URI:  " << uri << "\n";
    if (isatty(STDOUT_FILENO)) PrintQrCode(uri);
    std::cout << std::flush;
    return Status::Ok();
  }));

  auto name = std::make_shared<std::string>();
  auto status_name = std::make_shared<std::string>();
  CLI::App* set_status = user->add_subcommand("set-status", "change a user's status");
  set_status->add_option("NAME", *name, "username")->required();
  set_status->add_option("STATUS", *status_name, "active, unverified or suppressed")->required();
  set_status->callback(WithContext(options, exit_code, [name, status_name](Context& context) -> Status {
    AccountStatus status;
    if (!ParseAccountStatus(*status_name, &status)) {
      return Error{"invalid status '" + *status_name + "': use active, unverified or suppressed"};
    }
    Status changed = Updated(context.store->SetStatus(*name, status, SystemClock().NowSeconds()), *name);
    if (!changed) return changed;
    AuditOperatorAction(context, "status_change", *name, *status_name);
    std::cout << "Status of '" << *name << "' is now " << *status_name << "." << std::endl;
    return Status::Ok();
  }));

  CLI::App* unlock =
      user->add_subcommand("unlock", "clear a lock, a hold (SPEC 10.3) and their failure counts");
  unlock->add_option("NAME", *name, "username")->required();
  unlock->callback(WithContext(options, exit_code, [name](Context& context) -> Status {
    Result<UserRecord> user = RequireUser(*context.store, *name);
    if (!user) return user.failure();
    Status cleared = context.store->ClearAttempts(*name);
    if (!cleared) return cleared;
    AuditOperatorAction(context, "unlock", *name,
                        user->held() ? "hold, lock and failure counts cleared"
                                     : "lock and failure count cleared");
    std::cout << "Unlocked '" << *name << "'" << (user->held() ? " (its hold is released)" : "")
              << "." << std::endl;
    return Status::Ok();
  }));

  auto json_flag = std::make_shared<bool>(false);
  CLI::App* show = user->add_subcommand("show", "show a user (never secrets or hashes)");
  show->add_option("NAME", *name, "username")->required();
  show->add_flag("--json", *json_flag, "print one JSON object");
  show->callback(WithContext(options, exit_code, [name, json_flag](Context& context) -> Status {
    Result<UserRecord> user = RequireUser(*context.store, *name);
    if (!user) return user.failure();
    Result<AttemptState> attempts = context.store->GetAttemptState(*name);
    if (!attempts) return attempts.failure();
    json out = UserJson(*user, *attempts, SystemClock().NowSeconds(), context.config.lockout);
    if (*json_flag) {
      std::cout << out.dump() << std::endl;
      return Status::Ok();
    }
    for (const auto& [key, value] : out.items()) {
      std::cout << key << ": " << (value.is_string() ? value.get<std::string>() : value.dump())
                << "\n";
    }
    std::cout << std::flush;
    return Status::Ok();
  }));

  CLI::App* list = user->add_subcommand("list", "list users (never secrets or hashes)");
  list->add_flag("--json", *json_flag, "print one JSON array");
  list->callback(WithContext(options, exit_code, [json_flag](Context& context) -> Status {
    Result<std::vector<UserRecord>> users = context.store->ListUsers();
    if (!users) return users.failure();
    const int64_t now = SystemClock().NowSeconds();
    json out = json::array();
    for (const UserRecord& user : *users) {
      Result<AttemptState> attempts = context.store->GetAttemptState(user.username);
      if (!attempts) return attempts.failure();
      out.push_back(UserJson(user, *attempts, now, context.config.lockout));
    }
    if (*json_flag) {
      std::cout << out.dump() << std::endl;
      return Status::Ok();
    }
    std::printf("%-8s %-32s %-11s %s\n", "ID", "USERNAME", "STATUS", "LOCKED");
    for (const json& entry : out) {
      std::printf("%-8lld %-32s %-11s %s\n", static_cast<long long>(entry["id"].get<int64_t>()),
                  entry["username"].get<std::string>().c_str(),
                  entry["status"].get<std::string>().c_str(),
                  entry["locked"].get<bool>() ? "yes" : "no");
    }
    return Status::Ok();
  }));

  struct ImportOptions {
    std::string file;
    std::string out;
  };
  auto import_options = std::make_shared<ImportOptions>();
  CLI::App* import = user->add_subcommand(
      "import", "create many users from a CSV file (username[,status]) in one transaction");
  import->add_option("FILE", import_options->file, "CSV file: one username[,status] per line")
      ->required();
  import->add_option("--out", import_options->out,
                     "where to write the generated passwords and TOTP secrets (created 0600; "
                     "must not exist)")
      ->required();
  import->callback(WithContext(options, exit_code, [import_options](Context& context) -> Status {
    Result<std::vector<ImportRow>> rows = ReadImportFile(import_options->file);
    if (!rows) return rows.failure();
    // The secrets file is written first, under a temporary name; it gets its final name only
    // once the users are committed, so no secret is ever lost or left for users that do not exist.
    std::string temp = import_options->out + ".partial";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return Error{"cannot create '" + temp + "': " + std::strerror(errno)};
    if (::access(import_options->out.c_str(), F_OK) == 0) {
      ::close(fd);
      ::unlink(temp.c_str());
      return Error{"'" + import_options->out + "' exists: choose a new --out file"};
    }
    std::string secrets = "username,password,totpSecret,otpauthUri\n";
    std::vector<NewUser> users;
    const PasswordParams params = ParamsOf(context.config);
    for (size_t i = 0; i < rows->size(); ++i) {
      const ImportRow& row = (*rows)[i];
      std::string password = RandomPassword(kGeneratedPasswordLength);
      Result<std::string> hash = HashPassword(password, params);
      if (!hash) {
        ::close(fd);
        ::unlink(temp.c_str());
        return hash.failure();
      }
      Credentials totp = NewTotpSecret(*context.box, row.username);
      users.push_back({row.username, *hash, totp.sealed, row.status});
      secrets += row.username + "," + password + "," + totp.secret_base32 + "," +
                 OtpauthUri(context.config.tokens.issuer, row.username, totp.secret_base32) + "\n";
      ShowProgress(i + 1, rows->size());
    }
    bool written = ::write(fd, secrets.data(), secrets.size()) ==
                       static_cast<ssize_t>(secrets.size()) &&
                   ::fsync(fd) == 0;
    ::close(fd);
    sodium_memzero(secrets.data(), secrets.size());
    if (!written) {
      ::unlink(temp.c_str());
      return Error{"cannot write '" + temp + "'"};
    }
    Result<std::vector<int64_t>> created = context.store->CreateUsers(users, SystemClock().NowSeconds());
    if (!created) {
      ::unlink(temp.c_str());
      std::string message = created.error();
      const std::optional<size_t> entry = created.failure().entry;
      if (entry && *entry < rows->size()) {  // name the file's line rather than the batch index
        message = import_options->file + ":" + std::to_string((*rows)[*entry].line) + ": " + message;
      }
      return Error{message + "; no user was created", created.code()};
    }
    if (::rename(temp.c_str(), import_options->out.c_str()) != 0) {
      return Error{"users created, but their secrets are in '" + temp + "' (rename failed: " +
                   std::strerror(errno) + ")"};
    }
    AuditOperatorAction(context, "import", import_options->file,
                        std::to_string(created->size()) + " users created");
    std::cout << "Created " << created->size() << " users; passwords and TOTP secrets are in "
              << import_options->out << " (mode 0600)." << std::endl;
    return Status::Ok();
  }));

  CLI::App* export_users =
      user->add_subcommand("export", "write every user's non-secret fields as CSV on stdout");
  export_users->callback(WithContext(options, exit_code, [](Context& context) -> Status {
    Result<std::vector<UserRecord>> users = context.store->ListUsers();
    if (!users) return users.failure();
    std::cout << "id,username,status,createdAt,updatedAt\n";
    for (const UserRecord& u : *users) {
      std::cout << u.id << "," << CsvField(u.username) << "," << AccountStatusName(u.status) << ","
                << u.created_at << "," << u.updated_at << "\n";
    }
    std::cout << std::flush;
    return Status::Ok();
  }));

  auto password_stdin = std::make_shared<bool>(false);
  CLI::App* passwd = user->add_subcommand(
      "passwd", "set a new password (generated unless --password-stdin); ends every session");
  passwd->add_option("NAME", *name, "username")->required();
  passwd->add_flag("--password-stdin", *password_stdin,
                   "read the password from one line of standard input");
  passwd->callback(WithContext(options, exit_code, [name, password_stdin](Context& context) -> Status {
    Result<UserRecord> user = RequireUser(*context.store, *name);
    if (!user) return user.failure();
    std::string password;
    if (*password_stdin) {
      Result<std::string> line = ReadPasswordLine();
      if (!line) return line.failure();
      password = *line;
    } else {
      password = RandomPassword(kGeneratedPasswordLength);
    }
    Result<std::string> hash = HashPassword(password, ParamsOf(context.config));
    if (!hash) return hash.failure();
    Status changed = Updated(context.store->SetPasswordHash(*name, *hash, SystemClock().NowSeconds()), *name);
    if (!changed) return changed;
    AuditOperatorAction(context, "revocation", *name, "password changed: every session ended");
    if (!*password_stdin) std::cout << "Password:     " << password << "\n";
    std::cout << "Password of '" << *name << "' changed; every session of it has ended."
              << std::endl;
    return Status::Ok();
  }));

  CLI::App* reset_totp = user->add_subcommand(
      "reset-totp", "give a user a new TOTP secret; ends every session");
  reset_totp->add_option("NAME", *name, "username")->required();
  reset_totp->add_flag("--json", *json_flag, "print one JSON object");
  reset_totp->callback(WithContext(options, exit_code, [name, json_flag](Context& context) -> Status {
    Result<UserRecord> user = RequireUser(*context.store, *name);
    if (!user) return user.failure();
    Credentials totp = NewTotpSecret(*context.box, *name);
    Status changed = Updated(context.store->SetTotpSecret(*name, totp.sealed, SystemClock().NowSeconds()), *name);
    if (!changed) return changed;
    AuditOperatorAction(context, "revocation", *name, "TOTP secret reset: every session ended");
    std::string uri = OtpauthUri(context.config.tokens.issuer, *name, totp.secret_base32);
    if (*json_flag) {
      std::cout << json{{"username", *name}, {"totpSecret", totp.secret_base32}, {"otpauthUri", uri}}.dump()
                << std::endl;
      return Status::Ok();
    }
    std::cout << "New TOTP secret of '" << *name << "'; every session of it has ended.\n"
              << "TOTP secret:  " << totp.secret_base32 << "\n"
              << "otpauth URI:  " << uri << "\n";
    if (isatty(STDOUT_FILENO)) PrintQrCode(uri);
    std::cout << std::flush;
    return Status::Ok();
  }));

  RegisterUserSessions(*user, options, exit_code);
}

}  // namespace authgate::cli
