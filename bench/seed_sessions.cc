// seed_sessions: writes COUNT sessions into a store, as logins would, and prints an access
// token for each, for the cold-session verify benchmark (every request a session the server
// has not seen yet: logging that many in through Argon2id would take the benchmark's hour).
//   seed_sessions STORE_URL MASTER_KEY_FILE ACCOUNTS_FILE COUNT OUT_FILE
// ACCOUNTS_FILE is seed_accounts' output; OUT_FILE gets "ACCESS_TOKEN BASE32_SECRET" lines.
// Tokens are HS256 with the default issuer and audience, signed with the store's current key
// (created if there is none, as `serve` does), valid for an hour.
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>

#include "core/crypto_box.h"
#include "core/jwt.h"
#include "core/random.h"
#include "service/key_ring.h"
#include "store/open_store.h"

namespace {

int Fail(const std::string& message) {
  std::cerr << "seed_sessions: " << message << std::endl;
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace authgate;
  if (argc != 6) {
    std::cerr << "usage: seed_sessions STORE_URL MASTER_KEY_FILE ACCOUNTS_FILE COUNT OUT_FILE"
              << std::endl;
    return 2;
  }
  if (!InitCrypto()) return 1;
  std::ifstream key_file(argv[2], std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(key_file)), std::istreambuf_iterator<char>());
  if (key.size() != kMasterKeyBytes) return Fail("master key must be 32 bytes");
  CryptoBox box{SecretBytes(key)};
  Result<std::unique_ptr<Store>> store = OpenStore(argv[1]);
  if (!store) return Fail(store.error());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  KeyRing keys(**store, box, JwtAlg::kHS256, 3600);
  if (Status ensured = keys.EnsureSigningKey(now); !ensured) return Fail(ensured.error());
  std::vector<std::pair<std::string, std::string>> accounts;  // name, secret
  std::ifstream in(argv[3]);
  for (std::string name, secret; in >> name >> secret;) accounts.emplace_back(name, secret);
  if (accounts.empty()) return Fail("no accounts in " + std::string(argv[3]));
  const long count = std::stol(argv[4]);
  std::ofstream out(argv[5]);
  std::map<std::string, int64_t> ids;
  for (long i = 0; i < count; ++i) {
    const auto& [name, secret] = accounts[static_cast<size_t>(i) % accounts.size()];
    if (!ids.count(name)) {
      Result<std::optional<UserRecord>> user = (*store)->FindUserByName(name);
      if (!user || !user->has_value()) return Fail("no account " + name);
      ids[name] = (**user).id;
    }
    JwtClaims claims{"authgate", "customer-api", std::to_string(ids[name]), RandomId(),
                     RandomId(), now, now + 3600};
    // A step no TOTP code will ever name: logins of the benchmark never collide with it.
    Result<CompletedLogin> made = (*store)->CompleteLogin(
        name, ids[name], 1000000000 + i, claims.sid, RandomId(), now + 86400, now);
    if (!made || made->completion != LoginCompletion::kCompleted) return Fail("cannot create session " + std::to_string(i));
    out << SignJwt(claims, *keys.Snapshot()->signing) << " " << secret << "\n";
  }
  return 0;
}
