// Cryptographically secure randomness (libsodium's randombytes), and the identifiers built on it.
#pragma once

#include <string>

#include "core/secret.h"

namespace authgate {

// Initializes libsodium and liboath once; safe to call from several threads. Returns false when
// the libraries cannot be initialized (the process must then refuse to start).
bool InitCrypto();

SecretBytes RandomSecret(size_t size);
// 32 random bytes, base64url: opaque refresh tokens (256 bits).
std::string RandomToken();
// 16 random bytes, hex: session ids and token ids.
std::string RandomId();
// A password of `length` characters from an unambiguous alphanumeric alphabet.
std::string RandomPassword(size_t length);

}  // namespace authgate
