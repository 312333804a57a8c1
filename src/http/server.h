// HttpServer: Boost.Beast over Asio with a small, fixed number of I/O threads. Each connection
// is bounded: header size, body size (server.max_body_bytes), a deadline to receive a whole
// request (slow or trickled headers), an idle keep-alive deadline, a write deadline, and a
// cap on open connections. Drain() stops accepting, closes idle connections, lets in-flight
// requests finish with "Connection: close", and Run() then returns.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>

#include "core/result.h"
#include "http/router.h"

namespace authgate {

struct ServerLimits {
  size_t max_body_bytes = 16384;
  size_t max_header_bytes = 8192;
  int request_timeout_s = 10;  // to receive one whole request, and idle keep-alive
  int write_timeout_s = 10;
  size_t max_connections = 10000;
};

class Connection;

class HttpServer {
 public:
  HttpServer(ApiHandler& handler, ServerLimits limits);
  ~HttpServer();

  // Binds and listens; returns the bound port (useful with port 0).
  Result<uint16_t> Listen(const std::string& host, uint16_t port);
  // Serves on `threads` I/O threads until drained; returns when every connection is done.
  void Run(size_t threads);
  // Safe from any thread (e.g. a signal handler's completion).
  void Drain();
  boost::asio::io_context& io_context() { return io_; }

 private:
  friend class Connection;
  void Accept();
  void Register(const std::shared_ptr<Connection>& connection);
  void Unregister(Connection* connection);

  ApiHandler& handler_;
  const ServerLimits limits_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> draining_{false};
  std::mutex connections_mutex_;
  std::unordered_map<Connection*, std::weak_ptr<Connection>> connections_;
  std::atomic<size_t> open_connections_{0};
};

}  // namespace authgate
