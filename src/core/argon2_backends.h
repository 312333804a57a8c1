// Argon2 backends: every packaged Argon2id implementation this build links — libsodium,
// libargon2 (the reference implementation), libgcrypt and Botan — each able to verify the PHC
// strings ("$argon2id$v=19$m=...,t=...,p=...$salt$hash") that the others write. Which one is
// fastest depends on the CPU (SIMD paths differ by library), so the server times them on the
// machine at hand and verifies with the winner (service/argon2_choice.h). Nothing here is a
// hand-written primitive: this file parses the PHC string and hands its fields to a library,
// and compares tags with libsodium's constant-time comparison.
//
// Thread-safe. libargon2 hashes in a buffer of the calling thread's own, reused across calls
// (pre-faulted once, wiped after every use) instead of mapping and unmapping its memory per
// hash; the other libraries allocate as they do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace authgate {

enum class Argon2Backend { kLibsodium, kLibargon2, kLibgcrypt, kBotan };

// Every backend, in a fixed order (libsodium, the historical one, first).
const std::vector<Argon2Backend>& AllArgon2Backends();
std::string_view Argon2BackendName(Argon2Backend backend);
std::optional<Argon2Backend> ParseArgon2Backend(std::string_view name);

// The fields of an Argon2id (version 19) PHC string.
struct Argon2idPhc {
  uint32_t memory_kib = 0;
  uint32_t iterations = 0;
  uint32_t parallelism = 0;
  std::string salt;  // raw bytes
  std::string tag;   // raw bytes
};
std::optional<Argon2idPhc> ParseArgon2idPhc(std::string_view phc);

// True when `password` matches `phc`; false for a wrong password or a malformed string.
// Constant-time with respect to the password.
bool VerifyArgon2id(Argon2Backend backend, const std::string& phc, std::string_view password);

// A raw Argon2id tag with a secret key and associated data (RFC 9106 §3.1), for the backends
// that take them (libargon2, libgcrypt, Botan; nullopt for libsodium): the test vectors of RFC
// 9106 §5.3 need both.
std::optional<std::string> Argon2idRaw(Argon2Backend backend, std::string_view password,
                                       std::string_view salt, std::string_view secret,
                                       std::string_view associated_data, uint32_t memory_kib,
                                       uint32_t iterations, uint32_t parallelism,
                                       size_t tag_bytes);

}  // namespace authgate
