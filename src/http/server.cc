#include "http/server.h"

#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <optional>
#include <thread>
#include <unordered_set>

#include "http/envelope.h"
#include "http/handshake_log.h"

namespace authgate {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyTime = std::chrono::steady_clock::time_point;
// Concrete executor type: no type-erased executor on the hot path.
using Socket = tcp::socket::rebind_executor<asio::io_context::executor_type>::other;

namespace {

constexpr auto kSweepInterval = std::chrono::milliseconds(200);
constexpr auto kDrainGrace = std::chrono::seconds(1);  // for a connection still silent
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr size_t kReadChunk = 4096;
constexpr size_t kMaxDiscardBytes = 1 << 20;

// Deadlines are checked every kSweepInterval, so the kernel's coarse monotonic clock (a few ms
// resolution, same epoch as steady_clock, no hardware counter read) is precise enough.
SteadyTime CoarseNow() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return SteadyTime(std::chrono::duration_cast<SteadyTime::duration>(
      std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec)));
}

}  // namespace

// What a loop needs of a connection, whatever its stream (TCP or TLS over TCP).
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Sweep: closes the connection when its current deadline has passed.
  virtual void CheckDeadline(SteadyTime now) = 0;
  // The server drains: an idle keep-alive connection closes now; one that never sent a byte
  // gets a short grace to send its first request.
  virtual void OnDrain(SteadyTime now) = 0;
};

// Asks the kernel for a scheduling slice of `slice` for the calling thread (0: leave the
// default), keeping its policy and nice value. Linux's EEVDF scheduler (6.12 and later) lets a
// thread that wakes with a shorter slice than the running one preempt it at once: a loop woken
// by a request then takes its core from a CPU-bound neighbour (a hash helper, the client)
// without waiting out that neighbour's slice. The thread's share of the CPU is unchanged.
// Older kernels accept and ignore the value; a refusal changes nothing, so it is not an error.
void RequestSlice(std::chrono::microseconds slice) {
  // The kernel's struct sched_attr (include/uapi/linux/sched/types.h; glibc has no wrapper, and
  // that header clashes with <sched.h>).
  struct {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime, sched_deadline, sched_period;
    uint32_t sched_util_min, sched_util_max;
  } attr{};
  if (slice.count() == 0) return;
  if (syscall(SYS_sched_getattr, 0, &attr, sizeof attr, 0) != 0) return;
  if (attr.sched_policy != SCHED_OTHER && attr.sched_policy != SCHED_BATCH) return;
  attr.size = sizeof attr;
  attr.sched_runtime = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(slice).count());
  syscall(SYS_sched_setattr, 0, &attr, 0);
}

// One io_context run by one thread, and the connections that live on it. Everything here
// except Post-ed work runs on that thread.
class EventLoop {
 public:
  // One thread runs the loop and every socket operation of its connections happens on it, so
  // the reactor needs no per-socket lock (UNSAFE_IO); posting to the loop from other threads
  // (answers from the worker pools, Drain) stays safe.
  EventLoop(std::chrono::microseconds yield_after, std::chrono::microseconds slice)
      : io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
        sweep_(io_),
        yield_after_(yield_after),
        slice_(slice) {}

  asio::io_context& io() { return io_; }
  // Runs handlers until the loop is out of work or stopped. Once it has been busy for
  // `yield_after` without waiting for I/O, it yields its core (sched_yield) to whatever else is
  // runnable there, then goes on: a neighbour that shares the cores (nginx in front of it,
  // the API behind it, the other loops) waits a fraction of a millisecond for the core instead
  // of a scheduler tick. Alone on its core, sched_yield returns at once.
  void Run() {
    RequestSlice(slice_);
    ArmSweep();
    if (yield_after_.count() == 0) {
      io_.run();
      return;
    }
    // The clock is read every kHandlersPerCheck handlers (a handler takes microseconds).
    constexpr unsigned kHandlersPerCheck = 16;
    for (;;) {
      auto busy_since = std::chrono::steady_clock::now();
      unsigned handlers = 0;
      while (io_.poll_one() > 0) {
        if (++handlers % kHandlersPerCheck != 0) continue;
        if (std::chrono::steady_clock::now() - busy_since >= yield_after_) {
          sched_yield();
          busy_since = std::chrono::steady_clock::now();
        }
      }
      if (io_.run_one() == 0) return;  // waits for I/O; 0: stopped, or out of work
    }
  }
  void Add(ConnectionBase* connection) {
    connections_.insert(connection);
    if (!sweep_armed_) ArmSweep();
  }
  void Remove(ConnectionBase* connection) { connections_.erase(connection); }
  void Drain();

 private:
  void ArmSweep();
  void Sweep();

  asio::io_context io_;
  asio::steady_timer sweep_;
  std::unordered_set<ConnectionBase*> connections_;
  bool draining_ = false;
  bool sweep_armed_ = false;
  const std::chrono::microseconds yield_after_;
  const std::chrono::microseconds slice_;
};

using TlsStream = asio::ssl::stream<Socket>;

// One client connection over `Stream` (Socket, or TlsStream: then the TLS handshake comes
// first, and the connection holds the TLS context it started with for its whole life, whatever
// a reload puts in the server's place meanwhile). Reads with read_some and feeds Beast's parser
// itself, so it knows whether any byte of the next request has arrived (idle or not), answers
// pipelined requests from the buffer, and writes each answer with one write. A request it cannot
// read is answered with "Connection: close" and the connection closed: what follows it is
// discarded, never parsed.
template <class Stream>
class Connection final : public ConnectionBase,
                         public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, Socket>;

  Connection(HttpServer& server, EventLoop& loop, Socket socket,
             std::shared_ptr<asio::ssl::context> tls_context = nullptr)
      : server_(server),
        loop_(loop),
        tls_context_(std::move(tls_context)),
        stream_(OpenStream(std::move(socket), tls_context_.get())) {
    beast::error_code ec;
    Socket& tcp_socket = beast::get_lowest_layer(stream_);
    tcp::endpoint remote = tcp_socket.remote_endpoint(ec);
    if (!ec) {
      asio::ip::address address = remote.address();
      if (address.is_v6() && address.to_v6().is_v4_mapped()) {
        address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
      }
      peer_ = address.to_string();
    }
    tcp_socket.set_option(tcp::no_delay(true), ec);
  }
  ~Connection() {
    loop_.Remove(this);
    server_.open_connections_.fetch_sub(1);
  }

  void Start() {
    loop_.Add(this);
    if constexpr (kTls) {
      state_ = State::kHandshake;
      deadline_ = CoarseNow() + std::chrono::seconds(server_.limits_.request_timeout_s);
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) {
                                  LogHandshakeFailure(ec, self->peer_);
                                  return self->Abort();
                                }
                                self->BeginRequest();
                              });
    } else {
      BeginRequest();
    }
  }

  void CheckDeadline(SteadyTime now) override {
    if (now >= deadline_) Abort();
  }

  void OnDrain(SteadyTime now) override {
    const bool fresh = state_ == State::kHandshake ||
                       (state_ == State::kAwaitingRequest && served_ == 0 && received_ == 0);
    if (fresh) {
      deadline_ = std::min(deadline_, now + kDrainGrace);
    } else if (state_ == State::kAwaitingRequest && received_ == 0) {
      Abort();
    }
  }

 private:
  enum class State { kHandshake, kAwaitingRequest, kHandling, kWriting, kLingering, kClosed };

  void BeginRequest() {
    state_ = State::kAwaitingRequest;
    received_ = buffer_.size();
    continued_ = false;
    const SteadyTime now = CoarseNow();
    deadline_ = now + std::chrono::seconds(server_.limits_.request_timeout_s);
    if (server_.draining_) {
      OnDrain(now);
      if (state_ == State::kClosed) return;
    }
    parser_.emplace(request_);
    parser_->header_limit(static_cast<std::uint32_t>(server_.limits_.max_header_bytes));
    parser_->body_limit(server_.limits_.max_body_bytes);
    parser_->eager(true);
    if (received_ > 0) return Parse();
    ReadSome();
  }

  void ReadSome() {
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->OnRead(ec, n);
                            });
  }

  void OnRead(beast::error_code ec, std::size_t n) {
    if (ec) return Abort();  // end of stream, reset, or closed by the sweep
    buffer_.commit(n);
    received_ += n;
    Parse();
  }

  void Parse() {
    while (true) {
      beast::error_code ec;
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) return ReadMore();
      if (ec == http::error::body_limit) return SendError(413, MessageCode::kPayloadTooLarge);
      if (ec == http::error::header_limit) return SendError(431, MessageCode::kPayloadTooLarge);
      // Bad syntax and refused framing (FramingError) alike: answered, then closed unread.
      if (ec) return SendError(400, MessageCode::kInvalidValue);
      if (parser_->is_done()) return Dispatch();
      if (buffer_.size() == 0) return ReadMore();
    }
  }

  // Reads the rest of the request; first, once, tells a client that waits before sending its
  // body (Expect: 100-continue) to go on. The parser has accepted the header by then: a
  // declared body over the limit or a refused framing was answered instead, without the 100.
  void ReadMore() {
    if (!request_.expects_continue() || continued_) return ReadSome();
    continued_ = true;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->Abort();
                        self->ReadSome();
                      });
  }

  void Dispatch() {
    state_ = State::kHandling;
    deadline_ = SteadyTime::max();  // the handler answers; a worker pool bounds its own queue
    keep_alive_ = request_.keep_alive() && !server_.draining_;
    version_ = request_.version();
    head_ = request_.method() == http::verb::head;
    std::optional<HttpResponse> answer;
    try {
      answer = server_.handler_.Handle(request_, peer_, [this] { return Deferred(); });
    } catch (const std::exception&) {
      // No internals in the body (SPEC.md §6); the handler never answered, so answer here.
      keep_alive_ = false;
      answer = ErrorResponse(500, MessageCode::kInternalError);
    }
    if (answer) Write(*answer);
  }

  // The callback of an answer computed elsewhere: it comes back to this loop to be written.
  Respond Deferred() {
    return [self = this->shared_from_this()](HttpResponse response) mutable {
      EventLoop& loop = self->loop_;
      asio::post(loop.io(), [self = std::move(self), response = std::move(response)] {
        self->Write(response);
      });
    };
  }

  void SendError(unsigned status, MessageCode code) {
    keep_alive_ = false;
    version_ = 11;
    head_ = false;
    Write(ErrorResponse(status, code));
  }

  void Write(const HttpResponse& response) {
    if (state_ == State::kClosed) return;
    if (server_.draining_) keep_alive_ = false;
    state_ = State::kWriting;
    ++served_;
    SerializeResponse(response, version_, keep_alive_, head_, &out_);
    deadline_ = CoarseNow() +
                std::chrono::seconds(server_.limits_.write_timeout_s);
    asio::async_write(stream_, asio::buffer(out_),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->OnWrite(ec);
                      });
  }

  void OnWrite(beast::error_code ec) {
    if (ec) return Abort();
    if (out_.capacity() > 65536) std::string().swap(out_);  // do not keep a large answer's memory
    if (!keep_alive_) return LingerClose();
    BeginRequest();
  }

  // Half-closes, then discards what the client is still sending (for example the rest of an
  // oversized body) for a short while, so it can read our answer instead of a reset. Over TLS:
  // sends close_notify and waits (within the same deadline) for the client's.
  void LingerClose() {
    state_ = State::kLingering;
    deadline_ = CoarseNow() + kLingerTime;
    if constexpr (kTls) {
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        self->Abort();
      });
    } else {
      beast::error_code ec;
      stream_.shutdown(tcp::socket::shutdown_send, ec);
      if (ec) return Abort();
      Discard();
    }
  }

  void Discard() {
    buffer_.clear();
    stream_.async_read_some(buffer_.prepare(kReadChunk),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->discarded_ += n;
                              if (ec || self->discarded_ > kMaxDiscardBytes) return self->Abort();
                              self->Discard();
                            });
  }

  static Stream OpenStream(Socket socket, asio::ssl::context* tls_context) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls_context);
    } else {
      return socket;
    }
  }

  // Closes the socket; pending operations complete with an error and release the connection.
  void Abort() {
    if (state_ == State::kClosed) return;
    state_ = State::kClosed;
    deadline_ = SteadyTime::max();
    Socket& socket = beast::get_lowest_layer(stream_);
    beast::error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    socket.close(ec);
  }

  HttpServer& server_;
  EventLoop& loop_;
  const std::shared_ptr<asio::ssl::context> tls_context_;  // outlives stream_
  Stream stream_;
  beast::flat_buffer buffer_;
  HttpRequest request_;  // the request being read or answered; its buffers are reused
  std::optional<RequestParser> parser_;
  std::string out_;
  size_t discarded_ = 0;
  std::string peer_;
  State state_ = State::kAwaitingRequest;
  SteadyTime deadline_ = SteadyTime::max();
  size_t received_ = 0;  // bytes of the current request seen so far
  uint64_t served_ = 0;
  bool keep_alive_ = false;
  bool continued_ = false;  // "100 Continue" was sent for the current request
  bool head_ = false;
  unsigned version_ = 11;
};

void EventLoop::ArmSweep() {
  sweep_armed_ = true;
  sweep_.expires_after(kSweepInterval);
  sweep_.async_wait([this](beast::error_code ec) {
    sweep_armed_ = false;
    if (!ec) Sweep();
  });
}

void EventLoop::Sweep() {
  const SteadyTime now = CoarseNow();
  // CheckDeadline may close a socket but never destroys a connection here (its pending
  // operation still holds it), so iterating the set is safe.
  for (ConnectionBase* connection : connections_) connection->CheckDeadline(now);
  // Once draining and empty, the loop has no more work: its Run() returns.
  if (draining_ && connections_.empty()) return;
  ArmSweep();
}

void EventLoop::Drain() {
  draining_ = true;
  const SteadyTime now = CoarseNow();
  for (ConnectionBase* connection : connections_) connection->OnDrain(now);
}

HttpServer::HttpServer(ApiHandler& handler, ServerLimits limits, size_t threads)
    : handler_(handler), limits_(limits), acceptor_([&]() -> asio::io_context& {
        for (size_t i = 0; i < std::max<size_t>(threads, 1); ++i) {
          loops_.push_back(
              std::make_unique<EventLoop>(std::chrono::microseconds(limits.yield_after_us),
                                          std::chrono::microseconds(limits.slice_us)));
        }
        return loops_.front()->io();
      }()) {}

HttpServer::~HttpServer() = default;

Result<TlsCertificateInfo> HttpServer::UseTls(const std::string& cert_file,
                                              const std::string& key_file) {
  Result<TlsContext> loaded = LoadTlsContext(cert_file, key_file);
  if (!loaded) return loaded.failure();
  std::lock_guard lock(tls_mutex_);
  tls_ = std::move(loaded->context);
  return std::move(loaded->certificate);
}

Result<TlsCertificateInfo> HttpServer::ReloadTls(const std::string& cert_file,
                                                 const std::string& key_file) {
  if (!CurrentTls()) return Error::InvalidArgument("TLS is not in use: nothing to reload");
  return UseTls(cert_file, key_file);
}

std::shared_ptr<asio::ssl::context> HttpServer::CurrentTls() const {
  std::lock_guard lock(tls_mutex_);
  return tls_;
}

asio::io_context& HttpServer::io_context() { return loops_.front()->io(); }

Result<uint16_t> HttpServer::Listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  asio::ip::address address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return Error{"listen: '" + host + "' is not an IP address"};
  tcp::endpoint endpoint(address, port);
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) acceptor_.native_non_blocking(true, ec);  // Accept() drains it with accept4()
  if (ec) return Error{"listen on " + host + ":" + std::to_string(port) + ": " + ec.message()};
  protocol_ = endpoint.protocol().family();
  return acceptor_.local_endpoint().port();
}

// Accepts on the first loop with accept4() and hands the descriptor itself to the next loop,
// which wraps it there: a socket is registered with, and only ever touched by, its own loop's
// thread (what the loops' unlocked reactor I/O relies on).
void HttpServer::Accept() {
  acceptor_.async_wait(tcp::acceptor::wait_read, [this](beast::error_code ec) {
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      return Accept();
    }
    AcceptPending();
  });
}

// The reactor reports readiness on edges: wait again only once accept4() said EAGAIN, else
// connections left in the backlog would wait for the next one to arrive. Batches are bounded
// so the first loop's own connections get their turn between them.
void HttpServer::AcceptPending() {
  for (int batch = 0; batch < 64; ++batch) {
    const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr,
                             SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return Accept();
      // Out of descriptors or similar: the connection stays queued; retry after a pause
      // (without blocking this loop's own connections) instead of spinning.
      auto pause = std::make_shared<asio::steady_timer>(acceptor_.get_executor(),
                                                        std::chrono::milliseconds(10));
      pause->async_wait([this, pause](beast::error_code) {
        if (acceptor_.is_open()) AcceptPending();
      });
      return;
    }
    if (open_connections_.load() >= limits_.max_connections) {
      ::close(fd);
      continue;
    }
    open_connections_.fetch_add(1);
    EventLoop& loop = *loops_[next_loop_];
    next_loop_ = (next_loop_ + 1) % loops_.size();
    asio::post(loop.io(), [this, &loop, fd] { Adopt(loop, fd); });
  }
  asio::post(acceptor_.get_executor(), [this] {
    if (acceptor_.is_open()) AcceptPending();
  });
}

void HttpServer::Adopt(EventLoop& loop, int fd) {
  Socket socket(loop.io());
  beast::error_code ec;
  socket.assign(protocol_ == AF_INET6 ? tcp::v6() : tcp::v4(), fd, ec);
  if (ec) {
    ::close(fd);
    open_connections_.fetch_sub(1);
    return;
  }
  if (std::shared_ptr<asio::ssl::context> tls = CurrentTls()) {
    std::make_shared<Connection<TlsStream>>(*this, loop, std::move(socket), std::move(tls))
        ->Start();
  } else {
    std::make_shared<Connection<Socket>>(*this, loop, std::move(socket))->Start();
  }
}

void HttpServer::Run() {
  Accept();
  std::vector<std::thread> threads;
  for (size_t i = 1; i < loops_.size(); ++i) {
    threads.emplace_back([this, i] { loops_[i]->Run(); });
  }
  loops_.front()->Run();
  for (std::thread& thread : threads) thread.join();
}

void HttpServer::Drain() {
  asio::post(loops_.front()->io(), [this] {
    draining_ = true;
    beast::error_code ec;
    acceptor_.close(ec);
    for (auto& loop : loops_) {
      asio::post(loop->io(), [&loop = *loop] { loop.Drain(); });
    }
  });
}

}  // namespace authgate
