// ServiceWorld: what a use case needs to run in a unit test: a FakeStore, a FakeClock, a key
// ring with one signing key, a VerifyCache, a StoreHealth, metrics and an audit log in a
// temporary file; with helpers to add accounts and open sessions. Cheap Argon2id parameters:
// these tests are about decisions, not hashing.
#pragma once

#include <memory>
#include <string>

#include "core/crypto_box.h"
#include "core/secret.h"
#include "fake_clock.h"
#include "fake_store.h"
#include "service/audit.h"
#include "service/key_ring.h"
#include "service/metrics.h"
#include "service/outcome.h"
#include "service/service_context.h"
#include "service/store_health.h"
#include "service/verify_cache.h"

namespace authgate {

struct TestAccount {
  int64_t id = 0;
  std::string username;
  std::string password;
  SecretBytes totp_secret;
};

// A live session as a login leaves it: its access and refresh tokens.
struct TestSession {
  std::string session_id;
  std::string access_token;
  std::string refresh_token;
};

class ServiceWorld {
 public:
  ServiceWorld();
  ~ServiceWorld();

  ServiceContext Context();
  TestAccount AddAccount(const std::string& username,
                         AccountStatus status = AccountStatus::kActive);
  // A session opened for `account` now, written as CompleteLogin writes it.
  TestSession OpenSession(const TestAccount& account);
  // `account`'s TOTP code now, `steps` steps away.
  std::string Otp(const TestAccount& account, int steps = 0) const;
  // The audit log's text so far.
  std::string AuditText() const;

  ServiceSettings settings;
  FakeStore store;
  FakeClock clock{1'700'000'000};
  CryptoBox box;
  KeyRing keys;
  VerifyCache cache;
  StoreHealth health{clock};
  Metrics metrics;
  std::unique_ptr<AuditLog> audit;

 private:
  std::string dir_;
  int64_t last_step_ = 0;
};

}  // namespace authgate
