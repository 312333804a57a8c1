// ApiHandler: maps an HTTP request to a route (SPEC.md §2–§6), applies the transport rules
// (content type, rate limit, 404/405) and calls the service. Blocking use cases run on worker
// pools; the handler never blocks its caller on Argon2id or any store call (a verify answers
// from memory on the caller's thread, or goes to the store pool).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/rate_limit.h"
#include "http/message.h"
#include "service/auth_service.h"
#include "service/key_ring.h"
#include "service/metrics.h"
#include "service/worker_pool.h"

namespace authgate {

// Receives the response; may be called from any thread, exactly once.
using Respond = std::function<void(HttpResponse)>;
// Hands out the callback of an answer computed later (on a worker pool); called at most once.
using Defer = std::function<Respond()>;

// Builds an envelope response with the headers every envelope carries.
HttpResponse EnvelopeResponse(unsigned status, std::string body);
HttpResponse ErrorResponse(unsigned status, MessageCode code, const std::string& field = "");

// Per-address token buckets, bounded in memory.
class AddressRateLimiter {
 public:
  explicit AddressRateLimiter(RateLimitPolicy policy) : policy_(policy) {}
  bool enabled() const { return policy_.per_second > 0; }
  // True when the request may proceed; otherwise *retry_after_s is set.
  bool Allow(const std::string& address, int64_t now_ms, int64_t* retry_after_s);

 private:
  RateLimitPolicy policy_;
  std::mutex mutex_;
  std::unordered_map<std::string, TokenBucket> buckets_;
};

struct HandlerDeps {
  AuthService& service;
  WorkerPool& hash_pool;
  WorkerPool& store_pool;
  Metrics& metrics;
  KeyRing& keys;
  const Clock& clock;
  RateLimitPolicy ratelimit;
  std::vector<std::string> trusted_proxies;
};

// Which listener a handler serves. The public one (server.listen) answers every route of SPEC
// §2–§6 but /metrics; the management one (server.management_listen) answers only /metrics,
// /healthz and /readyz: metrics count logins by result, which would tell a client holding a
// leaked password whether it is right (SPEC §10.5), so they are for the operator's network only.
enum class Surface { kPublic, kManagement };

// What a private endpoint does once the caller is authenticated.
enum class PrivateAction { kVerify, kLogout, kListSessions, kEndSession };

class ApiHandler {
 public:
  explicit ApiHandler(HandlerDeps deps, Surface surface = Surface::kPublic);

  // Answers `request` now (returns the response) or later: then it has called `defer` once
  // and answers exactly once through the callback it got, possibly from another thread.
  // Every answer is counted and timed by endpoint and status.
  std::optional<HttpResponse> Handle(HttpRequest& request, const std::string& peer_address,
                                     const Defer& defer);

 private:
  using Answer = std::optional<HttpResponse>;
  class Later;
  Answer RouteRequest(HttpRequest& request, const std::string& peer_address, size_t route_index,
                      std::string_view parameter, const Later& later);
  std::string ClientAddress(const HttpRequest& request, const std::string& peer) const;
  Answer HandleLogin(const HttpRequest& request, const std::string& client, const Later& later);
  Answer HandleRefresh(const HttpRequest& request, const std::string& client, const Later& later);
  // A private endpoint (SPEC §3, §10.4): a verify from memory when it can be, everything else
  // on the store pool. `session_id`: the path's, for ending a session.
  Answer HandlePrivate(const HttpRequest& request, PrivateAction action, const std::string& client,
                       const Later& later, std::string session_id = {});
  // The store pool's part of a private endpoint.
  HttpResponse RunPrivate(PrivateAction action, const RequestCredentials& credentials,
                          const std::string& client, const std::string& session_id);
  Answer OnPool(WorkerPool& pool, const Later& later, std::function<HttpResponse()> body);

  void Record(size_t route_index, unsigned status, std::chrono::steady_clock::time_point started);

  HandlerDeps deps_;
  const Surface surface_;
  AddressRateLimiter limiter_;
  RequestStats stats_;
};

}  // namespace authgate
