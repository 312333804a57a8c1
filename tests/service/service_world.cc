#include "service_world.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/password.h"
#include "core/random.h"
#include "core/refresh_token.h"
#include "core/totp.h"
#include "service/token_issuer.h"
#include "service/totp_sealing.h"

namespace authgate {
namespace {

ServiceSettings TestSettings() {
  InitCrypto();
  ServiceSettings settings;
  settings.lockout = {5, 600};
  settings.password = {8, 1, 1};
  settings.jwt = {JwtAlg::kHS256, "authgate", "customer-api", 0};
  settings.access_ttl_s = 900;
  settings.refresh_ttl_s = 86400;
  settings.skew_steps = 1;
  return settings;
}

std::string TempDir() {
  static int next = 0;
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("authgate-service-test-" + std::to_string(::getpid()) + "-" +
                               std::to_string(next++));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace

ServiceWorld::ServiceWorld()
    : settings(TestSettings()),
      box(RandomSecret(kMasterKeyBytes)),
      keys(store, box, settings.jwt.alg, settings.access_ttl_s),
      dir_(TempDir()) {
  (void)keys.EnsureSigningKey(clock.NowSeconds());
  audit = std::move(*AuditLog::Open(dir_ + "/audit.log"));
}

ServiceWorld::~ServiceWorld() {
  audit.reset();
  std::filesystem::remove_all(dir_);
}

ServiceContext ServiceWorld::Context() {
  return {store, box, keys, cache, health, metrics, *audit, clock, settings};
}

TestAccount ServiceWorld::AddAccount(const std::string& username, AccountStatus status) {
  TestAccount account;
  account.username = username;
  account.password = "password of " + username;
  account.totp_secret = RandomSecret(20);
  NewUser user{username, *HashPassword(account.password, settings.password),
               box.Seal(account.totp_secret, TotpAssociatedData(username)), status};
  account.id = *store.CreateUser(user, clock.NowSeconds());
  return account;
}

TestSession ServiceWorld::OpenSession(const TestAccount& account) {
  const int64_t now = clock.NowSeconds();
  TokenIssuer issuer(keys, settings);
  NewRefreshToken refresh = issuer.NewRefresh();
  TestSession session{RandomId(), "", ""};
  // A step of its own per session: the fake keeps login steps single-use.
  const CompletedLogin made = *store.CompleteLogin(account.username, account.id, ++last_step_,
                                                   session.session_id, refresh.hash,
                                                   now + settings.refresh_ttl_s, now);
  session.refresh_token = JoinRefreshToken(made.refresh_id, refresh.secret);
  session.access_token =
      issuer.Grant(account.id, session.session_id, session.refresh_token, now)
          .value->access_token;
  return session;
}

std::string ServiceWorld::Otp(const TestAccount& account, int steps) const {
  return TotpCode(account.totp_secret, clock.NowSeconds() + steps * kTotpStepSeconds);
}

std::string ServiceWorld::AuditText() const {
  std::ifstream in(dir_ + "/audit.log");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace authgate
