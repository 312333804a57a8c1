#include "http/tls_context.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <boost/system/error_code.hpp>
#include <cerrno>
#include <ctime>
#include <system_error>

namespace authgate {

namespace asio = boost::asio;

namespace {

// The configuration keys that name the files, for errors.
constexpr std::string_view kCertFileKey = "server.tls_cert_file";
constexpr std::string_view kKeyFileKey = "server.tls_key_file";

Error FileError(std::string_view key, const std::string& file, std::string_view why) {
  return Error::InvalidArgument(std::string(key) + " '" + file + "': " + std::string(why));
}

// TLS 1.2: forward-secret AEAD suites only (the TLS 1.3 suites are OpenSSL's defaults).
constexpr char kTls12Suites[] = "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL";

// TLS 1.2 and later.
Result<std::shared_ptr<asio::ssl::context>> NewServerContext() {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  boost::system::error_code ec;
  context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                           asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                           asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                       ec);
  if (ec || SSL_CTX_set_min_proto_version(context->native_handle(), TLS1_2_VERSION) != 1) {
    return Error{"TLS: cannot require TLS 1.2"};
  }
  if (SSL_CTX_set_cipher_list(context->native_handle(), kTls12Suites) != 1) {
    return Error{"TLS: no usable cipher suite"};
  }
  return context;
}

// OpenSSL reports a file it cannot open as a bare "asio.ssl error"; the system says why.
Status Readable(std::string_view key, const std::string& file) {
  if (::access(file.c_str(), R_OK) == 0) return {};
  return FileError(key, file, std::error_code(errno, std::generic_category()).message());
}

Status LoadPair(asio::ssl::context& context, const std::string& cert_file,
                const std::string& key_file) {
  Status readable = Readable(kCertFileKey, cert_file);
  if (readable) readable = Readable(kKeyFileKey, key_file);
  if (!readable) return readable;
  boost::system::error_code ec;
  context.use_certificate_chain_file(cert_file, ec);
  if (ec) return FileError(kCertFileKey, cert_file, ec.message());
  context.use_private_key_file(key_file, asio::ssl::context::pem, ec);
  if (ec) return FileError(kKeyFileKey, key_file, ec.message());
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    return FileError(kKeyFileKey, key_file, "does not match the certificate");
  }
  return {};
}

std::string SubjectOf(const X509* certificate) {
  std::unique_ptr<BIO, decltype(&BIO_free)> text(BIO_new(BIO_s_mem()), BIO_free);
  if (!text ||
      X509_NAME_print_ex(text.get(), X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) < 0) {
    return "?";
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(text.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

std::string SerialOf(const X509* certificate) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> number(
      ASN1_INTEGER_to_BN(X509_get0_serialNumber(certificate), nullptr), BN_free);
  if (!number) return "?";
  std::unique_ptr<char, void (*)(char*)> hex(BN_bn2hex(number.get()),
                                             [](char* text) { OPENSSL_free(text); });
  return hex ? std::string(hex.get()) : "?";
}

std::string UtcText(const ASN1_TIME* time) {
  std::tm parts{};
  char text[32];
  if (ASN1_TIME_to_tm(time, &parts) != 1 ||
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts) == 0) {
    return "?";
  }
  return text;
}

// The loaded certificate's public details, or an Error when it has expired: serving it would
// only make every client refuse the server.
Result<TlsCertificateInfo> CheckCertificate(asio::ssl::context& context,
                                            const std::string& cert_file) {
  const X509* certificate = SSL_CTX_get0_certificate(context.native_handle());
  if (certificate == nullptr) return FileError(kCertFileKey, cert_file, "no certificate");
  TlsCertificateInfo info{SubjectOf(certificate), SerialOf(certificate),
                          UtcText(X509_get0_notAfter(certificate))};
  if (X509_cmp_current_time(X509_get0_notAfter(certificate)) <= 0) {
    return FileError(kCertFileKey, cert_file, "the certificate expired on " + info.not_after);
  }
  return info;
}

Result<TlsContext> Load(const std::string& cert_file, const std::string& key_file) {
  Result<std::shared_ptr<asio::ssl::context>> context = NewServerContext();
  if (!context) return context.failure();
  Status loaded = LoadPair(**context, cert_file, key_file);
  if (!loaded) return loaded.failure();
  Result<TlsCertificateInfo> certificate = CheckCertificate(**context, cert_file);
  if (!certificate) return certificate.failure();
  return TlsContext{std::move(*context), std::move(*certificate)};
}

}  // namespace

Result<TlsContext> LoadTlsContext(const std::string& cert_file, const std::string& key_file) {
  Result<TlsContext> loaded = Load(cert_file, key_file);
  // A refusal may leave more entries than the one reported: the thread's next OpenSSL caller
  // must not find them.
  ERR_clear_error();
  return loaded;
}

}  // namespace authgate
