#include "http/handshake_log.h"

#include "service/failure_log.h"

namespace authgate {

void LogHandshakeFailure(const boost::system::error_code& error, const std::string& peer) {
  static FailureLog log("tls handshake", spdlog::level::debug);
  const std::string cause =
      std::string(error.category().name()) + ":" + std::to_string(error.value());
  log.Write("handshake", cause, error.message() + " (peer " + peer + ")");
}

}  // namespace authgate
