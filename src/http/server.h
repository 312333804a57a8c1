// HttpServer: HTTP/1.1 over Asio with one event loop (io_context) per I/O thread. A connection
// lives on one loop for its whole life, so its callbacks never race and need no strand or lock;
// the acceptor hands new connections to the loops in turn.
//
// Each connection is bounded: header size, body size (server.max_body_bytes), a deadline to
// receive one whole request (slow or trickled headers; also the idle keep-alive limit), a
// deadline to write the answer, and a cap on open connections. Deadlines are checked by each
// loop's sweep a few times a second, not by a timer per operation.
//
// With UseTls() every connection first completes a TLS handshake (within the request deadline).
// ReloadTls() replaces the certificate and key while serving: handshakes that start afterwards
// use the new pair, and each open connection keeps the one it started with until it closes.
//
// Drain() stops accepting and closes idle connections; a request already (even partly)
// received is answered with "Connection: close", and a connection accepted but still silent
// gets one second to send its request. Run() returns when every connection is gone.
//
// A loop that has worked for `yield_after_us` without a pause yields its core once, so that
// processes sharing the cores with it are not kept waiting a whole scheduler tick; and each
// loop thread asks for a short scheduling slice (`slice_us`), so that a request wakes it onto
// a core promptly even when a CPU-bound process (a hash helper) holds that core.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/router.h"
#include "http/tls_context.h"

namespace authgate {

struct ServerLimits {
  size_t max_body_bytes = 16384;
  size_t max_header_bytes = 8192;
  int request_timeout_s = 10;  // to receive one whole request, and idle keep-alive
  int write_timeout_s = 10;
  size_t max_connections = 10000;
  // A loop busy this long without waiting for I/O yields its core once (0: never); see Run().
  int64_t yield_after_us = 250;
  // The scheduling slice each loop thread asks the kernel for (0: the kernel's default).
  int64_t slice_us = 100;
};

class EventLoop;
template <class Stream>
class Connection;

class HttpServer {
 public:
  // `threads` event loops, each run by one thread in Run().
  HttpServer(ApiHandler& handler, ServerLimits limits, size_t threads);
  ~HttpServer();

  // Serves HTTPS (TLS 1.2 or later) with a PEM certificate chain and key, checked as
  // LoadTlsContext says; returns the certificate's public details. Call before Run().
  Result<TlsCertificateInfo> UseTls(const std::string& cert_file, const std::string& key_file);
  // On a server that serves HTTPS, loads a new pair and, only when it passes every check, makes
  // it the one new connections use; otherwise returns the Error and the current pair stays.
  // Reads files: safe from any thread but an event loop's.
  Result<TlsCertificateInfo> ReloadTls(const std::string& cert_file, const std::string& key_file);
  // Binds and listens; returns the bound port (useful with port 0).
  Result<uint16_t> Listen(const std::string& host, uint16_t port);
  // Serves until drained; returns when every connection is done.
  void Run();
  // Safe from any thread (e.g. a signal handler's completion).
  void Drain();
  // The first loop's context (it also runs the acceptor): for signal handling.
  boost::asio::io_context& io_context();

 private:
  template <class Stream>
  friend class Connection;
  friend class EventLoop;
  void Accept();
  void AcceptPending();  // accept4() what is queued, in bounded batches
  // On `loop`'s thread: wraps an accepted descriptor and starts its connection.
  void Adopt(EventLoop& loop, int fd);
  // The context new connections use; null without TLS. Any thread.
  std::shared_ptr<boost::asio::ssl::context> CurrentTls() const;

  ApiHandler& handler_;
  const ServerLimits limits_;
  std::vector<std::unique_ptr<EventLoop>> loops_;
  size_t next_loop_ = 0;
  boost::asio::ip::tcp::acceptor acceptor_;
  mutable std::mutex tls_mutex_;  // held only to copy or swap tls_, never across I/O
  std::shared_ptr<boost::asio::ssl::context> tls_;
  int protocol_ = 0;  // address family of the listening socket
  std::atomic<bool> draining_{false};
  std::atomic<size_t> open_connections_{0};
};

}  // namespace authgate
