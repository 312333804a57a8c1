// seed_accounts: writes N accounts into a store for the load benchmark.
//   seed_accounts STORE_URL MASTER_KEY_FILE COUNT OUT_FILE
// Accounts are bench<i>, all with the password "bench-password" (hashed once with the default
// Argon2id parameters) and each with its own TOTP secret, sealed with the master key exactly as
// `authgate user add` does. OUT_FILE gets one "username base32-secret" line per account.
#include <fstream>
#include <iostream>
#include <iterator>

#include "core/crypto_box.h"
#include "core/encoding.h"
#include "core/password.h"
#include "core/random.h"
#include "service/totp_sealing.h"
#include "store/open_store.h"

int main(int argc, char** argv) {
  using namespace authgate;
  if (argc != 5) {
    std::cerr << "usage: seed_accounts STORE_URL MASTER_KEY_FILE COUNT OUT_FILE" << std::endl;
    return 2;
  }
  if (!InitCrypto()) return 1;
  std::ifstream key_file(argv[2], std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(key_file)), std::istreambuf_iterator<char>());
  if (key.size() != kMasterKeyBytes) {
    std::cerr << "seed_accounts: master key must be 32 bytes" << std::endl;
    return 1;
  }
  CryptoBox box{SecretBytes(key)};
  Result<std::unique_ptr<Store>> store = OpenStore(argv[1]);
  if (!store) {
    std::cerr << "seed_accounts: " << store.error() << std::endl;
    return 1;
  }
  const long count = std::stol(argv[3]);
  std::string hash = *HashPassword("bench-password", PasswordParams{});
  std::ofstream out(argv[4]);
  constexpr long kBatch = 10000;
  for (long start = 0; start < count; start += kBatch) {
    std::vector<NewUser> batch;
    for (long i = start; i < std::min(count, start + kBatch); ++i) {
      std::string name = "bench" + std::to_string(i);
      SecretBytes secret = RandomSecret(20);
      batch.push_back({name, hash, box.Seal(secret, TotpAssociatedData(name)),
                       AccountStatus::kActive});
      out << name << " " << Base32Encode(secret.view()) << "\n";
    }
    Result<std::vector<int64_t>> created = (*store)->CreateUsers(batch, 1700000000);
    if (!created) {
      std::cerr << "seed_accounts: " << created.error() << std::endl;
      return 1;
    }
  }
  return 0;
}
