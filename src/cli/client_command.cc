// `authgate client`: the customer's side of the API. `client login` stores the tokens and the
// TOTP secret in a 0600 file; `client call` sends a request with `Authorization` and a fresh
// `otp`, refreshing the access token first when it has expired; `client sessions` and
// `client revoke` list and end the customer's own sessions (SPEC §10.4) the same way. Over
// http:// or https:// (the server's certificate verified against the system's CAs or --cacert,
// and its host name).
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/session_table.h"
#include "core/clock.h"
#include "core/encoding.h"
#include "core/random.h"
#include "core/totp.h"

namespace authgate::cli {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using nlohmann::json;

namespace ssl = boost::asio::ssl;

struct Url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;
};

// http://HOST[:PORT][/PATH] or https://HOST[:PORT][/PATH].
Result<Url> ParseUrl(const std::string& text) {
  Url url;
  std::string rest;
  if (text.rfind("http://", 0) == 0) {
    rest = text.substr(7);
  } else if (text.rfind("https://", 0) == 0) {
    url.tls = true;
    rest = text.substr(8);
  } else {
    return Error{"URL must start with http:// or https:// (got '" + text + "')"};
  }
  size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  url.target = slash == std::string::npos ? "/" : rest.substr(slash);
  size_t colon = authority.rfind(':');
  url.host = colon == std::string::npos ? authority : authority.substr(0, colon);
  url.port = colon == std::string::npos ? (url.tls ? "443" : "80") : authority.substr(colon + 1);
  if (url.host.empty() || url.port.empty()) return Error{"malformed URL '" + text + "'"};
  return url;
}

struct Reply {
  unsigned status = 0;
  std::string body;
};

// Writes `request` and reads the answer on a connected stream (TCP or TLS).
template <class Stream>
Reply Exchange(Stream& stream, http::request<http::string_body>& request) {
  http::write(stream, request);
  beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  return Reply{response.result_int(), response.body()};
}

// One request. Over https the server's certificate must chain to `cacert` (a PEM file) or,
// when it is empty, to the system's trusted CAs, and must name the URL's host.
Result<Reply> Send(const std::string& method, const std::string& url_text,
                   const std::vector<std::pair<std::string, std::string>>& headers,
                   const std::string& body, const std::string& cacert = "") {
  Result<Url> url = ParseUrl(url_text);
  if (!url) return url.failure();
  try {
    http::request<http::string_body> request{http::string_to_verb(method), url->target, 11};
    if (request.method() == http::verb::unknown) return Error{"unknown method '" + method + "'"};
    request.set(http::field::host, url->host);
    request.set(http::field::user_agent, "authgate-client");
    for (const auto& [name, value] : headers) request.set(name, value);
    if (!body.empty()) {
      if (request.find(http::field::content_type) == request.end()) {
        request.set(http::field::content_type, "application/json");
      }
      request.body() = body;
    }
    request.prepare_payload();

    boost::asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream tcp_stream(io);
    tcp_stream.expires_after(std::chrono::seconds(30));
    tcp_stream.connect(resolver.resolve(url->host, url->port));
    if (!url->tls) {
      Reply reply = Exchange(tcp_stream, request);
      beast::error_code ignored;
      tcp_stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return reply;
    }
    ssl::context context(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
    if (cacert.empty()) context.set_default_verify_paths();
    else context.load_verify_file(cacert);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp_stream), context);
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(url->host));
    beast::error_code not_ip;
    boost::asio::ip::make_address(url->host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), url->host.c_str())) {
      return Error{"request to " + url_text + " failed: cannot set the TLS server name"};
    }
    stream.handshake(ssl::stream_base::client);
    Reply reply = Exchange(stream, request);
    // The whole answer is read (Content-Length): close without waiting for a close_notify
    // exchange, which a server is free not to answer.
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
    return reply;
  } catch (const std::exception& error) {
    return Error{"request to " + url_text + " failed: " + error.what()};
  }
}

std::string DefaultTokenFile() {
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.authgate-client.json";
}

Status SaveState(const std::string& path, const json& state) {
  std::string temp = path + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{"cannot write '" + temp + "': " + std::strerror(errno)};
  std::string text = state.dump(2) + "\n";
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::fchmod(fd, 0600);
  ::close(fd);
  if (!ok || ::rename(temp.c_str(), path.c_str()) != 0) {
    return Error{"cannot write '" + path + "': " + std::strerror(errno)};
  }
  return Status::Ok();
}

// The fields `client login` writes, each of its type: reading them then never throws.
bool IsClientState(const json& state) {
  if (!state.is_object()) return false;
  auto has = [&state](const char* key, bool (json::*is_type)() const noexcept) {
    const auto found = state.find(key);
    return found != state.end() && ((*found).*is_type)();
  };
  auto absent_or = [&state, &has](const char* key, bool (json::*is_type)() const noexcept) {
    return !state.contains(key) || has(key, is_type);
  };
  return has("url", &json::is_string) && has("accessToken", &json::is_string) &&
         absent_or("refreshToken", &json::is_string) &&
         absent_or("totpSecret", &json::is_string) && absent_or("cacert", &json::is_string) &&
         absent_or("accessExpiresAt", &json::is_number_integer);
}

Result<json> LoadState(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Error{"no session in '" + path + "': run `authgate client login` first"};
  json state = json::parse(in, nullptr, false);
  if (!IsClientState(state)) return Error{"'" + path + "' is not an authgate client file"};
  return state;
}

std::string BaseUrl(const json& state) { return state["url"].get<std::string>(); }

Result<std::string> ReadSecretFrom(const std::string& file, const char* what) {
  std::string line;
  if (file.empty() || file == "-") {
    if (!std::getline(std::cin, line)) return Error{std::string("no ") + what + " on standard input"};
  } else {
    std::ifstream in(file);
    if (!in || !std::getline(in, line)) return Error{std::string("cannot read the ") + what + " from '" + file + "'"};
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return Error{std::string("the ") + what + " is empty"};
  return line;
}

std::string CurrentOtp(const json& state) {
  std::optional<std::string> secret = Base32Decode(state.value("totpSecret", ""));
  return secret ? TotpCode(SecretBytes(*secret), SystemClock().NowSeconds()) : "";
}

// Stores the tokens of a login or refresh answer; false when the answer is not a success.
bool TakeTokens(const Reply& reply, json& state) {
  json answer = json::parse(reply.body, nullptr, false);
  if (reply.status != 200 || !answer.is_object() || !answer["details"].is_object()) return false;
  const json& details = answer["details"];
  int64_t now = SystemClock().NowSeconds();
  state["accessToken"] = details.value("accessToken", "");
  state["refreshToken"] = details.value("refreshToken", "");
  state["accessExpiresAt"] = now + details.value("expiresIn", 0);
  return true;
}

// What every authorized command takes: the session file of `client login` and a CA file.
struct ApiOptions {
  std::string token_file = DefaultTokenFile();
  std::string cacert;
};

void AddApiOptions(CLI::App& command, ApiOptions& api) {
  command.add_option("--token-file", api.token_file, "the session file of `client login`");
  command.add_option("--cacert", api.cacert,
                     "https: trust the CA certificates in this PEM file (default: the one "
                     "given to `client login`, else the system's)");
}

// The stored login, ready to send authorized requests.
struct ApiSession {
  json state;
  std::string cacert;
};

// Loads the stored login; refreshes its access token first (and saves the new tokens) when it
// has expired or expires within 5 s.
Result<ApiSession> OpenApiSession(const ApiOptions& api) {
  InitCrypto();
  Result<json> state = LoadState(api.token_file);
  if (!state) return state.failure();
  ApiSession session{std::move(*state), api.cacert};
  if (session.cacert.empty()) session.cacert = session.state.value("cacert", "");
  if (session.state.value("accessExpiresAt", int64_t{0}) > SystemClock().NowSeconds() + 5) {
    return session;
  }
  Result<Reply> refreshed =
      Send("POST", BaseUrl(session.state) + "/api/v1/public/auth/refresh",
           {{"Content-Type", "application/json"}},
           json{{"refreshToken", session.state.value("refreshToken", "")}}.dump(), session.cacert);
  if (!refreshed) return refreshed.failure();
  if (!TakeTokens(*refreshed, session.state)) {
    return Error{"refresh refused (log in again): " + refreshed->body};
  }
  Status saved = SaveState(api.token_file, session.state);
  if (!saved) return saved.failure();
  return session;
}

// One request with `Authorization: Bearer` and a fresh `otp`.
Result<Reply> SendAuthorized(const ApiSession& session, const std::string& method,
                             const std::string& url, const std::string& body) {
  return Send(method, url,
              {{"Authorization", "Bearer " + session.state.value("accessToken", "")},
               {"otp", CurrentOtp(session.state)}},
              body, session.cacert);
}

// The one stderr line of a failed answer: its status and the envelope's error codes.
std::string FailureLine(const Reply& reply) {
  std::string line = "HTTP " + std::to_string(reply.status);
  const json answer = json::parse(reply.body, nullptr, false);
  const auto errors = answer.is_object() ? answer.find("errors") : answer.end();
  if (errors == answer.end() || !errors->is_array()) return line;
  for (const json& error : *errors) {
    const auto code = error.is_object() ? error.find("messageCode") : error.end();
    if (code != error.end() && code->is_string()) line += " " + code->get<std::string>();
  }
  return line;
}

// A callback that runs `body`; the error it returns becomes one stderr line and exit code 1.
template <typename Body>
std::function<void()> Reporting(int* exit_code, Body body) {
  return [exit_code, body] {
    Status status = body();
    if (!status) *exit_code = Fail(status.error());
  };
}

// GET /api/v1/auth/sessions (SPEC §10.4): a table marking the current session, or with
// `as_json` the answer's `details` as they came.
Status ShowSessions(const ApiOptions& api, bool as_json) {
  Result<ApiSession> session = OpenApiSession(api);
  if (!session) return session.failure();
  Result<Reply> reply =
      SendAuthorized(*session, "GET", BaseUrl(session->state) + "/api/v1/auth/sessions", "");
  if (!reply) return reply.failure();
  if (reply->status != 200) return Error{FailureLine(*reply)};
  const json answer = json::parse(reply->body, nullptr, false);
  const auto details = answer.is_object() ? answer.find("details") : answer.end();
  if (details == answer.end()) return Error{"the server's answer has no details: " + reply->body};
  if (as_json) {
    std::cout << JsonText(*details) << std::endl;
    return Status::Ok();
  }
  const auto sessions = details->is_object() ? details->find("sessions") : details->end();
  if (sessions == details->end() || !sessions->is_array()) {
    return Error{"the server's answer lists no sessions: " + reply->body};
  }
  PrintSessionTable(std::cout, *sessions, true);
  return Status::Ok();
}

// DELETE /api/v1/auth/sessions/{id}: ends one of the caller's own sessions.
Status EndOwnSession(const ApiOptions& api, const std::string& session_id) {
  Result<ApiSession> session = OpenApiSession(api);
  if (!session) return session.failure();
  Result<Reply> reply = SendAuthorized(
      *session, "DELETE",
      BaseUrl(session->state) + "/api/v1/auth/sessions/" + UriEncode(session_id), "");
  if (!reply) return reply.failure();
  if (reply->status != 200) return Error{FailureLine(*reply)};
  std::cout << "ended session " << Printable(session_id) << std::endl;
  return Status::Ok();
}

void RegisterClientSessions(CLI::App& client, int* exit_code) {
  struct SessionsOptions {
    bool json = false;
    ApiOptions api;
  };
  auto list = std::make_shared<SessionsOptions>();
  CLI::App* sessions = client.add_subcommand(
      "sessions", "list your live sessions, newest first (* marks this one)");
  sessions->add_flag("--json", list->json, "print the server's details as JSON");
  AddApiOptions(*sessions, list->api);
  sessions->callback(Reporting(exit_code, [list] { return ShowSessions(list->api, list->json); }));

  struct RevokeOptions {
    std::string session_id;
    ApiOptions api;
  };
  auto revoke = std::make_shared<RevokeOptions>();
  CLI::App* revoke_command = client.add_subcommand("revoke", "end one of your sessions");
  revoke_command->add_option("ID", revoke->session_id, "the session id (see `client sessions`)")
      ->required();
  AddApiOptions(*revoke_command, revoke->api);
  revoke_command->callback(
      Reporting(exit_code, [revoke] { return EndOwnSession(revoke->api, revoke->session_id); }));
}

}  // namespace

void RegisterClient(CLI::App& app, int* exit_code) {
  CLI::App* client = app.add_subcommand("client", "call an authgate-protected API as a customer");
  client->require_subcommand(1);

  struct LoginOptions {
    std::string url;
    std::string username;
    std::string password_file;
    std::string secret_file;
    std::string cacert;
    std::string token_file = DefaultTokenFile();
  };
  auto login = std::make_shared<LoginOptions>();
  CLI::App* login_command = client->add_subcommand(
      "login", "log in; the password and TOTP secret are read from stdin (one line each) or files");
  login_command->add_option("--url", login->url, "authgate's base URL, e.g. http://127.0.0.1:8080")
      ->required();
  login_command->add_option("--username", login->username, "your API username")->required();
  login_command->add_option("--password-file", login->password_file, "file with the password");
  login_command->add_option("--secret-file", login->secret_file, "file with the base32 TOTP secret");
  login_command->add_option("--token-file", login->token_file, "where to keep the session (0600)");
  login_command->add_option("--cacert", login->cacert,
                            "https: trust the CA certificates in this PEM file instead of the "
                            "system's (kept for `client call`)");
  login_command->callback([login, exit_code] {
    InitCrypto();
    Result<std::string> password = ReadSecretFrom(login->password_file, "password");
    if (!password) return void(*exit_code = Fail(password.error()));
    Result<std::string> secret = ReadSecretFrom(login->secret_file, "TOTP secret");
    if (!secret) return void(*exit_code = Fail(secret.error()));
    if (!Base32Decode(*secret)) return void(*exit_code = Fail("the TOTP secret is not valid base32"));
    std::string base = login->url;
    while (!base.empty() && base.back() == '/') base.pop_back();
    json state = {{"url", base}, {"username", login->username}, {"totpSecret", *secret}};
    if (!login->cacert.empty()) {
      char* absolute = ::realpath(login->cacert.c_str(), nullptr);
      if (absolute == nullptr) return void(*exit_code = Fail("cannot read '" + login->cacert + "'"));
      state["cacert"] = std::string(absolute);
      std::free(absolute);
    }
    json body = {{"username", login->username}, {"password", *password}, {"otp", CurrentOtp(state)}};
    Result<Reply> reply = Send("POST", base + "/api/v1/public/auth/login",
                               {{"Content-Type", "application/json"}}, body.dump(), login->cacert);
    if (!reply) return void(*exit_code = Fail(reply.error()));
    if (!TakeTokens(*reply, state)) return void(*exit_code = Fail("login refused: " + reply->body));
    Status saved = SaveState(login->token_file, state);
    if (!saved) return void(*exit_code = Fail(saved.error()));
    std::cout << "Logged in as " << login->username << "; session kept in " << login->token_file
              << "." << std::endl;
  });

  struct CallOptions {
    std::string method = "GET";
    std::string data;
    std::string url;
    ApiOptions api;
  };
  auto call = std::make_shared<CallOptions>();
  CLI::App* call_command = client->add_subcommand(
      "call", "send a request with Authorization and a fresh otp; print the response body");
  call_command->add_option("-X,--request", call->method, "HTTP method (default GET)");
  call_command->add_option("-d,--data", call->data, "request body (JSON)");
  call_command->add_option("URL", call->url, "the API URL to call")->required();
  AddApiOptions(*call_command, call->api);
  call_command->callback([call, exit_code] {
    Result<ApiSession> session = OpenApiSession(call->api);
    if (!session) return void(*exit_code = Fail(session.error()));
    Result<Reply> reply = SendAuthorized(*session, call->method, call->url, call->data);
    if (!reply) return void(*exit_code = Fail(reply.error()));
    std::cout << reply->body << std::endl;
    if (reply->status < 200 || reply->status >= 300) {
      std::cerr << "authgate: HTTP " << reply->status << std::endl;
      *exit_code = 1;
    }
  });

  RegisterClientSessions(*client, exit_code);
}

}  // namespace authgate::cli
