// The wire format between the server and its password-hash helpers (service/hasher_processes.h,
// the `authgate-hasher` binary), over a Unix stream socket, one request at a time:
//   request  uint32 hash length, uint32 password length, uint32 Argon2 backend (its index in
//            core/argon2_backends.h's AllArgon2Backends(); host order), hash, password
//   answer   one byte: 1 the password matches the hash, 0 it does not (or the hash is malformed)
// Lengths above the limits below are refused by the helper (it exits); the server verifies such
// requests itself. Buffers that held a password are wiped.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace authgate {

// Longer than any hash libsodium writes, and than any password a login body can carry.
constexpr uint32_t kMaxHashBytes = 512;
constexpr uint32_t kMaxPasswordBytes = 1 << 20;

// send() until every byte went (MSG_NOSIGNAL: a dead peer is an error, not SIGPIPE).
bool WriteAll(int fd, const char* data, size_t size);

enum class ReadResult { kDone, kEndBeforeAnyByte, kFailed };
// recv() until `size` bytes came; kEndBeforeAnyByte is a clean end of the stream.
ReadResult ReadAll(int fd, char* data, size_t size);

// The helper's loop: answers requests on `fd` until the stream ends. Returns the process exit
// code: 0 at a clean end, 1 after a broken or oversized request.
int ServeHashRequests(int fd);

}  // namespace authgate
