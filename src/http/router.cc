#include "http/router.h"

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "http/bearer_extractor.h"
#include "http/client_address.h"
#include "http/envelope.h"
#include "http/openapi_document.h"

namespace authgate {
namespace {

namespace http = boost::beast::http;
using json = nlohmann::ordered_json;

enum class Route {
  kLogin, kRefresh, kVerify, kLogout, kSessions, kSession, kJwks, kHealth, kReady, kMetrics,
  kOpenApi
};

// The path parameter of a route that ends in one ("{sessionId}").
constexpr std::string_view kParameterMark = "{";

struct RouteEntry {
  constexpr RouteEntry(std::string_view path, Route route, http::verb method,
                       std::string_view allow)
      : path(path), route(route), method(method), allow(allow),
        parameter_at(path.find(kParameterMark)) {}

  std::string_view path;
  Route route;
  http::verb method;
  std::string_view allow;
  size_t parameter_at;  // where the path parameter begins, or npos (found at compile time)
};

constexpr RouteEntry kRoutes[] = {
    {"/api/v1/public/auth/login", Route::kLogin, http::verb::post, "POST"},
    {"/api/v1/public/auth/refresh", Route::kRefresh, http::verb::post, "POST"},
    {"/api/v1/auth/verify", Route::kVerify, http::verb::get, "GET"},
    {"/api/v1/auth/logout", Route::kLogout, http::verb::post, "POST"},
    {"/api/v1/auth/sessions", Route::kSessions, http::verb::get, "GET"},
    {"/api/v1/auth/sessions/{sessionId}", Route::kSession, http::verb::delete_, "DELETE"},
    {"/.well-known/jwks.json", Route::kJwks, http::verb::get, "GET"},
    {"/healthz", Route::kHealth, http::verb::get, "GET"},
    {"/readyz", Route::kReady, http::verb::get, "GET"},
    {"/metrics", Route::kMetrics, http::verb::get, "GET"},
    {"/openapi.json", Route::kOpenApi, http::verb::get, "GET"},
};

// True when `path` is `entry`'s: the same, or, for a route with a parameter, the same up to it
// followed by a non-empty segment (no further '/'). `parameter` gets that segment.
bool Matches(const RouteEntry& entry, std::string_view path, std::string_view* parameter) {
  const size_t mark = entry.parameter_at;
  if (mark == std::string_view::npos) return entry.path == path;
  if (path.size() <= mark || path.substr(0, mark) != entry.path.substr(0, mark)) return false;
  const std::string_view segment = path.substr(mark);
  if (segment.find('/') != std::string_view::npos) return false;
  *parameter = segment;
  return true;
}

// True when a listener of `surface` has `route` (every other path is Not_Found there).
bool Serves(Surface surface, Route route) {
  const bool operations = route == Route::kHealth || route == Route::kReady;
  if (surface == Surface::kManagement) return operations || route == Route::kMetrics;
  return route != Route::kMetrics;
}

unsigned HttpStatus(Rejection rejection) {
  switch (rejection) {
    case Rejection::kBadRequest: return 400;
    case Rejection::kUnauthorized: return 401;
    case Rejection::kForbidden: return 403;
    case Rejection::kNotFound: return 404;
    case Rejection::kUnavailable: return 503;
  }
  return 500;
}

HttpResponse ServiceErrorResponse(const ServiceError& error) {
  HttpResponse response =
      ErrorResponse(HttpStatus(error.rejection), error.code, error.field);
  if (error.rejection == Rejection::kUnavailable) response.Set("Retry-After", "1");
  return response;
}

// Appends `text` as a JSON string; plain printable ASCII (every username authgate creates) is
// copied as is, anything else goes through nlohmann's escaping.
void AppendJsonString(std::string_view text, std::string* out) {
  const bool plain = std::all_of(text.begin(), text.end(), [](char c) {
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
  });
  if (!plain) {
    *out += nlohmann::json(std::string(text))
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  *out += '"';
  *out += text;
  *out += '"';
}

// The verify answer, written directly: it is on every API request, and its shape is fixed.
std::string VerifyEnvelope(const Identity& identity) {
  std::string id = std::to_string(identity.user_id);
  std::string out;
  out.reserve(160 + identity.username.size());
  out += "{\"id\":";
  out += id;
  out += ",\"details\":{\"userId\":";
  out += id;
  out += ",\"username\":";
  AppendJsonString(identity.username, &out);
  out += ",\"sessionId\":\"";
  out += identity.session_id;  // hex, from RandomId
  out += "\",\"expiresAt\":";
  out += std::to_string(identity.expires_at);
  out += "},\"status\":\"1\",\"errors\":[]}";
  return out;
}

// A private endpoint's failure also names its code and field in headers, for reverse proxies
// (nginx auth_request sees only the headers of the answer).
HttpResponse PrivateErrorResponse(const ServiceError& error) {
  HttpResponse response = ServiceErrorResponse(error);
  response.Set("X-Auth-Error-Code", MessageCodeName(error.code));
  response.Set("X-Auth-Error-Field", error.field);
  return response;
}

// The answer of a verify: the identity (body and headers for reverse proxies), or the failure.
HttpResponse VerifyResponse(const Outcome<Identity>& outcome) {
  if (!outcome.value) return PrivateErrorResponse(outcome.error);
  const Identity& identity = *outcome.value;
  HttpResponse response = EnvelopeResponse(200, VerifyEnvelope(identity));
  response.Set("X-Auth-User-Id", std::to_string(identity.user_id));
  response.Set("X-Auth-Username", identity.username);
  return response;
}

// 503 with Retry-After: a full queue, or a store known to be down.
HttpResponse UnavailableResponse() {
  HttpResponse response = ErrorResponse(503, MessageCode::kServiceUnavailable);
  response.Set("Retry-After", "1");
  return response;
}

json GrantDetails(const TokenGrant& grant) {
  return {{"accessToken", grant.access_token},
          {"expiresIn", grant.expires_in},
          {"refreshToken", grant.refresh_token},
          {"refreshTokenExpiresIn", grant.refresh_expires_in}};
}

// The answer of a login or refresh: the new tokens, or the failure.
HttpResponse GrantResponse(const Outcome<TokenGrant>& outcome) {
  if (!outcome.value) return ServiceErrorResponse(outcome.error);
  return EnvelopeResponse(200, SuccessEnvelope(outcome.value->user_id, GrantDetails(*outcome.value)));
}

// SPEC §10.4's list: Unix seconds, refreshedAt null before the first refresh.
json SessionJson(const SessionInfo& session, const std::string& current) {
  return {{"sessionId", session.id},
          {"createdAt", session.created_at},
          {"refreshedAt", session.refreshed_at == 0 ? json(nullptr) : json(session.refreshed_at)},
          {"expiresAt", session.expires_at},
          {"address", session.address},
          {"userAgent", session.user_agent},
          {"current", session.id == current}};
}

// The answer of GET /api/v1/auth/sessions: the caller's live sessions, or the failure.
HttpResponse SessionsResponse(const Outcome<SessionList>& outcome) {
  if (!outcome.value) return PrivateErrorResponse(outcome.error);
  json sessions = json::array();
  for (const SessionInfo& session : outcome.value->sessions) {
    sessions.push_back(SessionJson(session, outcome.value->current));
  }
  return EnvelopeResponse(200,
                          SuccessEnvelope(outcome.value->user_id, {{"sessions", sessions}}));
}

}  // namespace

HttpResponse EnvelopeResponse(unsigned status, std::string body) {
  HttpResponse response(status);
  response.Set("Content-Type", "application/json");
  response.Set("Cache-Control", "no-store");
  response.body() = std::move(body);
  if (status == 401 || status == 403) {
    response.Set("WWW-Authenticate", "Bearer realm=\"authgate\"");
  }
  return response;
}

HttpResponse ErrorResponse(unsigned status, MessageCode code, const std::string& field) {
  return EnvelopeResponse(status, ErrorEnvelope(code, field));
}

bool AddressRateLimiter::Allow(const std::string& address, int64_t now_ms,
                               int64_t* retry_after_s) {
  if (!enabled()) return true;
  std::lock_guard<std::mutex> lock(mutex_);
  if (buckets_.size() >= 100000) buckets_.clear();  // bounded; a full reset only forgives
  return TakeToken(buckets_[address], now_ms, policy_, retry_after_s);
}

std::vector<std::string> EndpointNames() {
  std::vector<std::string> names;
  for (const RouteEntry& route : kRoutes) names.emplace_back(route.path);
  names.emplace_back("other");  // unknown paths
  return names;
}

// The deferred side of one request: hands out its callback, which records the request's
// metrics before passing the answer on.
class ApiHandler::Later {
 public:
  Later(ApiHandler& handler, const Defer& defer, size_t route_index,
        std::chrono::steady_clock::time_point started)
      : handler_(handler), defer_(defer), route_index_(route_index), started_(started) {}

  Respond Take() const {
    return [&handler = handler_, route_index = route_index_, started = started_,
            respond = defer_()](HttpResponse response) {
      handler.Record(route_index, response.status(), started);
      respond(std::move(response));
    };
  }

 private:
  ApiHandler& handler_;
  const Defer& defer_;
  size_t route_index_;
  std::chrono::steady_clock::time_point started_;
};

ApiHandler::ApiHandler(HandlerDeps deps, Surface surface)
    : deps_(std::move(deps)),
      surface_(surface),
      limiter_(deps_.ratelimit),
      stats_(deps_.metrics, EndpointNames()) {}

void ApiHandler::Record(size_t route_index, unsigned status,
                        std::chrono::steady_clock::time_point started) {
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
  stats_.Observe(route_index, status, elapsed.count());
}

// Runs `body` on `pool`; answers 503 at once when the pool's queue is full.
ApiHandler::Answer ApiHandler::OnPool(WorkerPool& pool, const Later& later,
                                      std::function<HttpResponse()> body) {
  auto respond = std::make_shared<Respond>(later.Take());
  std::atomic<int64_t>& in_progress = deps_.metrics.InProgress();
  in_progress.fetch_add(1);
  bool queued = pool.Submit([respond, body = std::move(body), &in_progress] {
    HttpResponse response;
    try {
      response = body();
    } catch (const std::exception&) {
      response = ErrorResponse(500, MessageCode::kInternalError);
    }
    in_progress.fetch_sub(1);
    (*respond)(std::move(response));
  });
  if (!queued) {
    in_progress.fetch_sub(1);
    (*respond)(UnavailableResponse());
  }
  return std::nullopt;
}

std::string ApiHandler::ClientAddress(const HttpRequest& request, const std::string& peer) const {
  return authgate::ClientAddress(peer, request.Values("X-Forwarded-For"), deps_.trusted_proxies);
}

std::optional<HttpResponse> ApiHandler::Handle(HttpRequest& request,
                                               const std::string& peer_address,
                                               const Defer& defer) {
  const auto started = std::chrono::steady_clock::now();
  std::string_view target = request.target();
  std::string_view path = target.substr(0, target.find('?'));
  size_t route_index = std::size(kRoutes);
  std::string_view parameter;
  for (size_t i = 0; i < std::size(kRoutes); ++i) {
    if (Matches(kRoutes[i], path, &parameter) && Serves(surface_, kRoutes[i].route)) {
      route_index = i;
    }
  }
  Later later(*this, defer, route_index, started);
  Answer answer = RouteRequest(request, peer_address, route_index, parameter, later);
  if (answer) Record(route_index, answer->status(), started);
  return answer;
}

ApiHandler::Answer ApiHandler::RouteRequest(HttpRequest& request, const std::string& peer_address,
                                            size_t route_index, std::string_view parameter,
                                            const Later& later) {
  if (route_index == std::size(kRoutes)) return ErrorResponse(404, MessageCode::kNotFound);
  const RouteEntry& entry = kRoutes[route_index];
  bool head = request.method() == http::verb::head && entry.method == http::verb::get;
  if (request.method() != entry.method && !head) {
    HttpResponse response = ErrorResponse(405, MessageCode::kMethodNotAllowed);
    response.Set("Allow", entry.allow);
    return response;
  }
  switch (entry.route) {
    case Route::kLogin:
    case Route::kRefresh: {
      const std::string client = ClientAddress(request, peer_address);
      int64_t retry_after = 1;
      if (!limiter_.Allow(RateLimitKey(client), deps_.clock.NowMillis(), &retry_after)) {
        deps_.metrics.Count("ratelimited", entry.route == Route::kLogin ? "login" : "refresh");
        HttpResponse response = ErrorResponse(429, MessageCode::kTooManyRequests);
        response.Set("Retry-After", std::to_string(retry_after));
        return response;
      }
      const HttpRequest::FieldValues type = request.Find("Content-Type");
      if (type.count != 1 || !IsJsonContentType(type.first)) {
        return ErrorResponse(415, MessageCode::kUnsupportedMediaType);
      }
      if (entry.route == Route::kLogin) return HandleLogin(request, client, later);
      return HandleRefresh(request, client, later);
    }
    case Route::kVerify:
      return HandlePrivate(request, PrivateAction::kVerify, peer_address, later);
    case Route::kLogout:
      return HandlePrivate(request, PrivateAction::kLogout, ClientAddress(request, peer_address),
                           later);
    case Route::kSessions:
      return HandlePrivate(request, PrivateAction::kListSessions, peer_address, later);
    case Route::kSession:
      return HandlePrivate(request, PrivateAction::kEndSession,
                           ClientAddress(request, peer_address), later, std::string(parameter));
    case Route::kJwks: {
      HttpResponse response(200);
      response.Set("Content-Type", "application/json");
      response.Set("Cache-Control", "max-age=60");
      response.body() = deps_.keys.Snapshot()->JwksJson(deps_.clock.NowSeconds());
      return response;
    }
    case Route::kHealth: return EnvelopeResponse(200, SuccessEnvelope(0, {{"alive", true}}));
    case Route::kReady: {
      // The background probes' last verdicts (SPEC §10.1, issue 16.2): reads answer and writes
      // commit. Never a store call on this thread.
      if (deps_.service.StoreReady()) {
        return EnvelopeResponse(200, SuccessEnvelope(0, {{"ready", true}}));
      }
      return UnavailableResponse();
    }
    case Route::kOpenApi: {
      HttpResponse response(200);
      response.Set("Content-Type", "application/json");
      response.body() = std::string(OpenApiDocument());
      return response;
    }
    case Route::kMetrics: {
      HttpResponse response(200);
      response.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      response.body() =
          deps_.metrics.Render(deps_.hash_pool.QueueDepth(), deps_.service.store_gauges());
      return response;
    }
  }
  return ErrorResponse(500, MessageCode::kInternalError);
}

ApiHandler::Answer ApiHandler::HandleLogin(const HttpRequest& request, const std::string& client,
                                           const Later& later) {
  ParsedLogin parsed = ParseLoginBody(request.body());
  if (!parsed.errors.empty()) {
    deps_.metrics.Count("logins", "invalid_request");
    return EnvelopeResponse(400, ErrorEnvelope(parsed.errors));
  }
  // The session keeps the first User-Agent (SPEC §10.4); the service makes it safe to store.
  std::string user_agent(request.Find("User-Agent").first);
  return OnPool(deps_.hash_pool, later,
                [this, login = std::move(parsed.request), client, user_agent] {
    return GrantResponse(deps_.service.Login(login, client, user_agent));
  });
}

ApiHandler::Answer ApiHandler::HandleRefresh(const HttpRequest& request,
                                             const std::string& client, const Later& later) {
  ParsedRefresh parsed = ParseRefreshBody(request.body());
  if (!parsed.errors.empty()) {
    deps_.metrics.Count("refreshes", "invalid_request");
    return EnvelopeResponse(400, ErrorEnvelope(parsed.errors));
  }
  return OnPool(deps_.store_pool, later, [this, refresh = std::move(parsed.request), client] {
    return GrantResponse(deps_.service.Refresh(refresh, client));
  });
}

ApiHandler::Answer ApiHandler::HandlePrivate(const HttpRequest& request, PrivateAction action,
                                             const std::string& client, const Later& later,
                                             std::string session_id) {
  RequestCredentials credentials = ExtractCredentials(request);
  if (action == PrivateAction::kVerify) {
    // From memory on this event loop when it can; otherwise on the store pool (DESIGN: an
    // event loop never waits), or 503 at once while the store is known to be down.
    std::optional<Outcome<Identity>> outcome = deps_.service.VerifyInMemory(credentials);
    if (outcome) return VerifyResponse(*outcome);
    if (!deps_.service.StoreUp()) return UnavailableResponse();
  }
  // The pool outlives the request's buffers: it gets copies.
  return OnPool(deps_.store_pool, later,
                [this, action, credentials, token = std::string(credentials.token),
                 otp = std::string(credentials.otp), client,
                 session_id = std::move(session_id)]() mutable {
    credentials.token = token;
    credentials.otp = otp;
    return RunPrivate(action, credentials, client, session_id);
  });
}

HttpResponse ApiHandler::RunPrivate(PrivateAction action, const RequestCredentials& credentials,
                                    const std::string& client, const std::string& session_id) {
  switch (action) {
    case PrivateAction::kVerify: return VerifyResponse(deps_.service.Verify(credentials));
    case PrivateAction::kListSessions:
      return SessionsResponse(deps_.service.ListSessions(credentials));
    case PrivateAction::kLogout:
    case PrivateAction::kEndSession: break;
  }
  Outcome<Identity> outcome = action == PrivateAction::kLogout
                                  ? deps_.service.Logout(credentials, client)
                                  : deps_.service.EndSession(credentials, session_id, client);
  if (!outcome.value) return PrivateErrorResponse(outcome.error);
  return EnvelopeResponse(200, SuccessEnvelope(outcome.value->user_id, nullptr));
}

}  // namespace authgate
