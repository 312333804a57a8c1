// Every Argon2id backend (src/core/argon2_backends.h) against the RFC 9106 test vector and the
// reference implementation's PHC vector, and every backend verifying every other's PHC strings.
#include "core/argon2_backends.h"

#include <argon2.h>
#include <botan/argon2.h>
#include <botan/auto_rng.h>
#include <gtest/gtest.h>

#include "core/encoding.h"
#include "core/password.h"

namespace authgate {
namespace {

constexpr uint32_t kMemoryKib = 256;  // small: the test is about agreement, not cost
constexpr uint32_t kIterations = 2;

std::string Hex(const std::string& bytes) { return HexEncode(bytes); }

// RFC 9106 §5.3 (Argon2id, version 0x13), which needs a secret and associated data.
TEST(Argon2BackendsTest, Rfc9106Vector) {
  const std::string password(32, '\x01'), salt(16, '\x02'), secret(8, '\x03'), ad(12, '\x04');
  for (Argon2Backend backend : AllArgon2Backends()) {
    std::optional<std::string> tag = Argon2idRaw(backend, password, salt, secret, ad, 32, 3, 4, 32);
    if (backend == Argon2Backend::kLibsodium) {
      EXPECT_FALSE(tag.has_value()) << "libsodium takes no secret or associated data";
      continue;
    }
    ASSERT_TRUE(tag.has_value()) << Argon2BackendName(backend);
    EXPECT_EQ(Hex(*tag), "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659")
        << Argon2BackendName(backend);
  }
}

// The reference implementation's own vector (its test.c, Argon2id, version 19).
TEST(Argon2BackendsTest, ReferencePhcVector) {
  const std::string phc =
      "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
  for (Argon2Backend backend : AllArgon2Backends()) {
    EXPECT_TRUE(VerifyArgon2id(backend, phc, "password")) << Argon2BackendName(backend);
    EXPECT_FALSE(VerifyArgon2id(backend, phc, "passwore")) << Argon2BackendName(backend);
  }
}

// PHC strings as each library writes them.
std::vector<std::pair<std::string, std::string>> WrittenByEachLibrary(const std::string& password) {
  std::vector<std::pair<std::string, std::string>> hashes;
  hashes.emplace_back("libsodium", *HashPassword(password, {kMemoryKib, kIterations, 1}));
  char encoded[256];
  const std::string salt = "0123456789abcdef";
  EXPECT_EQ(argon2id_hash_encoded(kIterations, kMemoryKib, 1, password.data(), password.size(),
                                  salt.data(), salt.size(), 32, encoded, sizeof(encoded)),
            ARGON2_OK);
  hashes.emplace_back("libargon2", encoded);
  Botan::AutoSeeded_RNG rng;
  hashes.emplace_back("botan", Botan::argon2_generate_pwhash(password.data(), password.size(), rng,
                                                            1, kMemoryKib, kIterations));
  return hashes;
}

TEST(Argon2BackendsTest, EveryBackendVerifiesEveryLibrarysStrings) {
  const std::string password = "correct horse battery staple";
  for (const auto& [writer, phc] : WrittenByEachLibrary(password)) {
    ASSERT_TRUE(ParseArgon2idPhc(phc).has_value()) << writer << ": " << phc;
    for (Argon2Backend backend : AllArgon2Backends()) {
      EXPECT_TRUE(VerifyArgon2id(backend, phc, password))
          << Argon2BackendName(backend) << " on " << writer << "'s " << phc;
      EXPECT_FALSE(VerifyArgon2id(backend, phc, password + "!"))
          << Argon2BackendName(backend) << " on " << writer;
    }
  }
}

TEST(Argon2BackendsTest, MalformedStringsVerifyNothing) {
  const std::string good = *HashPassword("pw", {kMemoryKib, kIterations, 1});
  const std::vector<std::string> bad = {
      "", "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=256,t=2$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=256,t=2,p=1$!!$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
      "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$", good.substr(0, good.size() - 5),
      good + "$x"};
  for (const std::string& phc : bad) {
    for (Argon2Backend backend : AllArgon2Backends()) {
      EXPECT_FALSE(VerifyArgon2id(backend, phc, "pw")) << Argon2BackendName(backend) << " " << phc;
    }
  }
}

TEST(Argon2BackendsTest, NamesRoundTrip) {
  for (Argon2Backend backend : AllArgon2Backends()) {
    EXPECT_EQ(ParseArgon2Backend(Argon2BackendName(backend)), backend);
  }
  EXPECT_FALSE(ParseArgon2Backend("auto").has_value());
}

}  // namespace
}  // namespace authgate
