#include "http/server.h"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <array>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "http/envelope.h"

namespace authgate {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
// Concrete executor types (no type erasure on the hot path): each connection runs on a strand.
using Strand = asio::strand<asio::io_context::executor_type>;
using Socket = tcp::socket::rebind_executor<Strand>::other;
using Stream = beast::basic_stream<tcp, Strand>;

// One client connection; every callback runs on the connection's strand.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer& server, Socket socket)
      : server_(server), stream_(std::move(socket)) {
    beast::error_code ec;
    tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) {
      asio::ip::address address = remote.address();
      if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
      }
      peer_ = address.to_string();
    }
  }
  ~Connection() { server_.Unregister(this); }

  void Start() {
    asio::dispatch(stream_.get_executor(),
                   beast::bind_front_handler(&Connection::ReadRequest, shared_from_this()));
  }

  // Closes the connection if it is waiting for a new request (called when draining).
  void CloseIfIdle() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->idle_) {
        beast::error_code ec;
        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
        self->stream_.close();
      }
    });
  }

 private:
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits_.max_header_bytes));
    parser_->body_limit(server_.limits_.max_body_bytes);
    idle_ = buffer_.size() == 0;
    if (server_.draining_ && idle_) return Close();
    stream_.expires_after(std::chrono::seconds(server_.limits_.request_timeout_s));
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Connection::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    idle_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::bad_descriptor) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return SendError(413, MessageCode::kPayloadTooLarge);
    }
    if (ec == http::error::header_limit) {
      return SendError(431, MessageCode::kPayloadTooLarge);
    }
    if (ec) return SendError(400, MessageCode::kInvalidValue);

    HttpRequest request = parser_->release();
    keep_alive_ = request.keep_alive() && !server_.draining_;
    version_ = request.version();
    head_ = request.method() == http::verb::head;
    auto self = shared_from_this();
    auto work = asio::make_work_guard(stream_.get_executor());
    try {
      server_.handler_.Handle(std::move(request), peer_,
                              [self, work](HttpResponse response) mutable {
                                // Inline when already on the connection's strand (verify);
                                // queued when the answer comes from a worker pool.
                                asio::dispatch(self->stream_.get_executor(),
                                           [self, response = std::move(response)]() mutable {
                                             self->Write(std::move(response));
                                           });
                                work.reset();
                              });
    } catch (const std::exception&) {
      // No internals in the body (SPEC.md §6); the handler never answered, so answer here.
      keep_alive_ = false;
      Write(ErrorResponse(500, MessageCode::kInternalError));
    }
  }

  void SendError(unsigned status, MessageCode code) {
    keep_alive_ = false;
    version_ = 11;
    head_ = false;
    Write(ErrorResponse(status, code));
  }

  void Write(HttpResponse response) {
    if (server_.draining_) keep_alive_ = false;
    response.version(version_);
    response.keep_alive(keep_alive_);
    response.prepare_payload();
    if (head_) response.body().clear();
    response_ = std::make_shared<HttpResponse>(std::move(response));
    stream_.expires_after(std::chrono::seconds(server_.limits_.write_timeout_s));
    if (head_) {
      auto serializer = std::make_shared<http::response_serializer<http::string_body>>(*response_);
      serializer->split(true);
      http::async_write_header(stream_, *serializer,
                               [self = shared_from_this(), serializer](beast::error_code ec,
                                                                      std::size_t n) {
                                 self->OnWrite(ec, n);
                               });
      return;
    }
    http::async_write(stream_, *response_,
                      beast::bind_front_handler(&Connection::OnWrite, shared_from_this()));
  }

  void OnWrite(beast::error_code ec, std::size_t) {
    response_.reset();
    if (ec) return Close();
    if (!keep_alive_) return LingerClose();
    ReadRequest();
  }

  // Half-closes, then discards what the client is still sending (for example the rest of an
  // oversized body) for a short while, so it can read our answer instead of a reset.
  void LingerClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(std::chrono::seconds(2));
    Discard();
  }

  void Discard() {
    discard_ = std::make_shared<std::array<char, 4096>>();
    stream_.async_read_some(asio::buffer(*discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->discarded_ += n;
                              if (ec || self->discarded_ > kMaxDiscardBytes) return self->Close();
                              self->Discard();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  HttpServer& server_;
  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> response_;
  static constexpr size_t kMaxDiscardBytes = 1 << 20;
  std::shared_ptr<std::array<char, 4096>> discard_;
  size_t discarded_ = 0;
  std::string peer_;
  bool keep_alive_ = false;
  bool head_ = false;
  bool idle_ = true;
  unsigned version_ = 11;
};

HttpServer::HttpServer(ApiHandler& handler, ServerLimits limits)
    : handler_(handler), limits_(limits), acceptor_(io_) {}

HttpServer::~HttpServer() = default;

Result<uint16_t> HttpServer::Listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Error{"listen: '" + host + "' is not an IP address"};
  tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Error{"listen on " + host + ":" + std::to_string(port) + ": " + ec.message()};
  return acceptor_.local_endpoint().port();
}

void HttpServer::Accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, Socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      // Out of descriptors or similar: back off briefly instead of spinning.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return Accept();
    }
    if (open_connections_.load() >= limits_.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
    } else {
      auto connection = std::make_shared<Connection>(*this, std::move(socket));
      Register(connection);
      connection->Start();
    }
    Accept();
  });
}

void HttpServer::Register(const std::shared_ptr<Connection>& connection) {
  open_connections_.fetch_add(1);
  std::lock_guard<std::mutex> lock(connections_mutex_);
  connections_.emplace(connection.get(), connection);
}

void HttpServer::Unregister(Connection* connection) {
  open_connections_.fetch_sub(1);
  std::lock_guard<std::mutex> lock(connections_mutex_);
  connections_.erase(connection);
}

void HttpServer::Run(size_t threads) {
  Accept();
  std::vector<std::thread> workers;
  for (size_t i = 1; i < threads; ++i) workers.emplace_back([this] { io_.run(); });
  io_.run();
  for (std::thread& worker : workers) worker.join();
}

void HttpServer::Drain() {
  asio::post(io_, [this] {
    draining_ = true;
    beast::error_code ec;
    acceptor_.close(ec);
    std::vector<std::shared_ptr<Connection>> live;
    {
      std::lock_guard<std::mutex> lock(connections_mutex_);
      for (const auto& [raw, weak] : connections_) {
        if (auto connection = weak.lock()) live.push_back(connection);
      }
    }
    for (const auto& connection : live) connection->CloseIfIdle();
  });
}

}  // namespace authgate
