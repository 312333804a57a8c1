#include "service/hash_protocol.h"

#include <sodium.h>
#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "core/password.h"

namespace authgate {

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

ReadResult ReadAll(int fd, char* data, size_t size) {
  const size_t wanted = size;
  while (size > 0) {
    ssize_t n = ::recv(fd, data, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && size == wanted) return ReadResult::kEndBeforeAnyByte;
    if (n <= 0) return ReadResult::kFailed;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return ReadResult::kDone;
}

int ServeHashRequests(int fd) {
  for (;;) {
    uint32_t sizes[3];
    ReadResult header = ReadAll(fd, reinterpret_cast<char*>(sizes), sizeof(sizes));
    if (header == ReadResult::kEndBeforeAnyByte) return 0;
    if (header != ReadResult::kDone) return 1;
    if (sizes[0] > kMaxHashBytes || sizes[1] > kMaxPasswordBytes) return 1;
    if (sizes[2] >= AllArgon2Backends().size()) return 1;
    const Argon2Backend backend = AllArgon2Backends()[sizes[2]];
    std::string hash(sizes[0], '\0');
    std::string password(sizes[1], '\0');
    const bool read = ReadAll(fd, hash.data(), hash.size()) == ReadResult::kDone &&
                      ReadAll(fd, password.data(), password.size()) == ReadResult::kDone;
    const char answer = read && VerifyArgon2id(backend, hash, password) ? 1 : 0;
    sodium_memzero(password.data(), password.size());
    if (!read || !WriteAll(fd, &answer, 1)) return 1;
  }
}

}  // namespace authgate
