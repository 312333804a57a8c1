// LogHandshakeFailure: a TLS handshake that failed, logged at `debug` (scanners, plain HTTP on
// the TLS port and clients that hang up make such noise all day), one line per second per cause
// (service/failure_log.h: the error's category and value, e.g. "asio.ssl:167772316" for plain
// HTTP), naming the peer of the line's own failure. Nothing of the handshake's bytes is logged,
// only OpenSSL's or the system's reason. Any thread (every I/O thread calls it).
#pragma once

#include <boost/system/error_code.hpp>
#include <string>

namespace authgate {

void LogHandshakeFailure(const boost::system::error_code& error, const std::string& peer);

}  // namespace authgate
