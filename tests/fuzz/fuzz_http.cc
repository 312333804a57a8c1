// Fuzzes the HTTP request path: raw bytes through authgate's RequestParser (Beast's basic_parser) and its router and
// handlers (with a real service on a SQLite store in a temporary directory) into a response.
// Every complete request must get exactly one response with an envelope or known body.
// The framing rules (CheckFraming) are checked twice: a request the parser accepts has framing
// no proxy could read otherwise, and fed in two pieces (as a connection's reads may split it)
// the same bytes are never accepted one way and refused for their framing the other.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include "core/clock.h"
#include "core/random.h"
#include "http/message.h"
#include "http/router.h"
#include "service/auth_service.h"
#include "store/open_store.h"

namespace {

using namespace authgate;

struct World {
  std::unique_ptr<Store> store;
  std::unique_ptr<CryptoBox> box;
  std::unique_ptr<KeyRing> keys;
  VerifyCache cache;
  Metrics metrics;
  std::unique_ptr<AuditLog> audit;
  SystemClock clock;
  InProcessVerifier passwords;  // no helper processes under the fuzzer
  std::unique_ptr<AuthService> service;
  std::unique_ptr<WorkerPool> hash_pool;
  std::unique_ptr<WorkerPool> store_pool;
  std::unique_ptr<ApiHandler> handler;

  World() {
    InitCrypto();
    std::string dir = std::filesystem::temp_directory_path() /
                      ("authgate-fuzz-http-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);  // left by an earlier process with the same id
    std::filesystem::create_directories(dir);
    store = std::move(*OpenStore("sqlite:" + dir + "/fuzz.db"));
    box = std::make_unique<CryptoBox>(RandomSecret(kMasterKeyBytes));
    keys = std::make_unique<KeyRing>(*store, *box, JwtAlg::kHS256, 3600);
    (void)keys->EnsureSigningKey(clock.NowSeconds());
    audit = std::move(*AuditLog::Open(dir + "/audit.log"));
    ServiceSettings settings;
    settings.password = {8, 1, 1};  // cheap: fuzzing is about parsing, not hashing
    settings.jwt = {JwtAlg::kHS256, "authgate", "customer-api", 0};
    service = std::make_unique<AuthService>(*store, *box, *keys, cache, metrics, *audit, clock,
                                            passwords, settings);
    hash_pool = std::make_unique<WorkerPool>(1, 4);
    store_pool = std::make_unique<WorkerPool>(1, 4);
    handler = std::make_unique<ApiHandler>(HandlerDeps{*service, *hash_pool, *store_pool, metrics,
                                                       *keys, clock, {0, 1}, {}});
  }
};

enum class ParseOutcome { kRead, kRefusedFraming, kOther };

// Parses `raw` fed in pieces split at `split`, keeping unconsumed bytes as a connection does.
ParseOutcome Parse(std::string_view raw, size_t split, HttpRequest& request) {
  RequestParser parser(request);
  parser.header_limit(8192);
  parser.body_limit(16384);
  parser.eager(true);
  std::string pending;
  for (std::string_view piece : {raw.substr(0, split), raw.substr(split)}) {
    pending += piece;
    boost::beast::error_code ec;
    pending.erase(0, parser.put(boost::asio::buffer(pending), ec));
    if (ec == boost::beast::http::error::need_more) continue;
    if (ec.category() == make_error_code(FramingError::kNone).category()) {
      return ParseOutcome::kRefusedFraming;
    }
    if (ec) return ParseOutcome::kOther;
    if (parser.is_done()) return ParseOutcome::kRead;
  }
  return ParseOutcome::kOther;
}

// A request that was read has the framing SPEC.md §10.5 allows, whatever the bytes were.
void CheckReadFraming(const HttpRequest& request) {
  const auto host = request.Find("Host").count;
  const auto transfer_encoding = request.Find("Transfer-Encoding");
  if (host > 1 || (request.version() == 11 && host == 0)) __builtin_trap();
  if (transfer_encoding.count > 1) __builtin_trap();
  if (transfer_encoding.count == 1 &&
      (!boost::beast::iequals(transfer_encoding.first, "chunked") ||
       request.Find("Content-Length").count > 0)) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static World world;
  static HttpRequest request;
  static HttpRequest split_request;
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const ParseOutcome whole = Parse(raw, size, request);
  const ParseOutcome split = Parse(raw, size / 2, split_request);
  if ((whole == ParseOutcome::kRead && split == ParseOutcome::kRefusedFraming) ||
      (whole == ParseOutcome::kRefusedFraming && split == ParseOutcome::kRead)) {
    __builtin_trap();
  }
  if (whole != ParseOutcome::kRead) return 0;
  CheckReadFraming(request);
  std::promise<HttpResponse> answered;
  std::future<HttpResponse> response = answered.get_future();
  auto once = std::make_shared<std::promise<HttpResponse>>(std::move(answered));
  std::optional<HttpResponse> now = world.handler->Handle(request, "127.0.0.1", [once] {
    return Respond([once](HttpResponse r) { once->set_value(std::move(r)); });
  });
  HttpResponse r = now ? std::move(*now) : response.get();
  if (r.status() < 200 || r.status() > 599) __builtin_trap();
  return 0;
}
