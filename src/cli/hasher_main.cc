// authgate-hasher: the password-hash helper of `authgate serve` (service/hasher_processes.h).
// Runs only as a child of the server that names itself with --parent; answers
// service/hash_protocol.h requests on stdin until EOF, at the priority --nice gives.
#include <signal.h>
#include <sodium.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "service/hash_protocol.h"

namespace {

bool ParseInt(const char* text, long* value) {
  std::string_view view(text);
  auto [end, ec] = std::from_chars(view.data(), view.data() + view.size(), *value);
  return ec == std::errc() && end == view.data() + view.size();
}

int Usage() {
  std::fputs("authgate-hasher: internal helper of `authgate serve`, not for direct use "
             "(usage: authgate-hasher --parent PID [--nice N])\n",
             stderr);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  long parent = 0;
  long nice = 0;
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return Usage();
    long* target = std::strcmp(argv[i], "--parent") == 0 ? &parent
                   : std::strcmp(argv[i], "--nice") == 0 ? &nice
                                                         : nullptr;
    if (target == nullptr || !ParseInt(argv[i + 1], target)) return Usage();
  }
  if (parent <= 0) return Usage();
  // Die with the server; and refuse to run for anyone but the parent it was told about.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // SIGHUP reloads the server's certificate; sent to the whole process group (a terminal
  // hangup) it must not kill the helpers of a server that lives on.
  ::signal(SIGHUP, SIG_IGN);
  if (::getppid() != static_cast<pid_t>(parent)) return Usage();
  ::setpriority(PRIO_PROCESS, 0, static_cast<int>(nice));
  if (sodium_init() < 0) {
    std::fputs("authgate-hasher: cannot initialize libsodium\n", stderr);
    return 1;
  }
  return authgate::ServeHashRequests(0);
}
