// LoadTlsContext: a server TLS context built from a PEM certificate chain and private key, and
// checked in full before anything uses it: both files load, the key matches the certificate, and
// the certificate has not expired. A pair that fails any check yields an Error and no context,
// so a caller that replaces a working context with a new one never ends up with half of each.
//
// Reads files: call at startup or on a thread that may wait, never on an event loop. Any thread;
// it leaves that thread's OpenSSL error queue empty.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

#include "core/result.h"

namespace authgate {

// What a log line may say about the certificate in use (public data only).
struct TlsCertificateInfo {
  std::string subject;    // RFC 2253, e.g. "CN=auth.example.com"
  std::string serial;     // hexadecimal, e.g. "03EA"
  std::string not_after;  // UTC, e.g. "2026-01-02T00:00:00Z"
};

struct TlsContext {
  std::shared_ptr<boost::asio::ssl::context> context;
  TlsCertificateInfo certificate;
};

// A server context for TLS 1.2 and 1.3 (TLS 1.2 with ECDHE and AEAD suites only). The Error
// names the configuration key and the file it refuses (kInvalidArgument), never key material.
Result<TlsContext> LoadTlsContext(const std::string& cert_file, const std::string& key_file);

}  // namespace authgate
