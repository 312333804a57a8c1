#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/management_listener.h"
#include "core/clock.h"
#include "http/server.h"
#include "service/argon2_choice.h"
#include "service/auth_service.h"
#include "service/change_follower.h"
#include "service/hasher_processes.h"

namespace authgate::cli {
namespace {

size_t OrCores(int64_t configured) {
  if (configured > 0) return static_cast<size_t>(configured);
  return std::max(1u, std::thread::hardware_concurrency());
}

// Lets the server hold many connections (bounded by ServerLimits) without running out of fds.
void RaiseFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

constexpr int kHashWorkerNice = 10;

// authgate-hasher, installed (and built) beside this binary.
std::string HasherBinary() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "authgate-hasher";
  return (self.parent_path() / "authgate-hasher").string();
}

ServiceSettings SettingsFrom(const Config& config) {
  ServiceSettings settings;
  settings.lockout = {static_cast<int>(config.lockout.max_failed_attempts),
                      config.lockout.duration_s};
  settings.password = {static_cast<uint32_t>(config.password.memory_kib),
                       static_cast<uint32_t>(config.password.iterations),
                       static_cast<uint32_t>(config.password.parallelism)};
  ParseJwtAlg(config.tokens.alg, &settings.jwt.alg);
  settings.jwt.issuer = config.tokens.issuer;
  settings.jwt.audience = config.tokens.audience;
  settings.jwt.leeway_s = config.tokens.leeway_s;
  settings.access_ttl_s = config.tokens.access_ttl_s;
  settings.refresh_ttl_s = config.tokens.refresh_ttl_s;
  settings.skew_steps = static_cast<int>(config.otp.skew_steps);
  return settings;
}

ServerLimits LimitsFrom(const Config& config) {
  ServerLimits limits;
  limits.max_body_bytes = static_cast<size_t>(config.server.max_body_bytes);
  limits.yield_after_us = config.server.yield_after_us;
  limits.slice_us = config.server.slice_us;
  return limits;
}

int Serve(const GlobalOptions& options, const std::string& listen_override) {
  Result<Context> context = OpenContext(options);
  if (!context) return Fail(context.error());
  Config& config = context->config;
  std::string listen = listen_override.empty() ? config.server.listen : listen_override;
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(listen, &host, &port)) return Fail("--listen must be HOST:PORT, got '" + listen + "'");
  const bool tls = !config.server.tls_cert_file.empty() || !config.server.tls_key_file.empty();
  if (tls && (config.server.tls_cert_file.empty() || config.server.tls_key_file.empty())) {
    return Fail("server.tls_cert_file and server.tls_key_file: set both for HTTPS, or neither");
  }
  auto logger = spdlog::stderr_color_mt("authgate");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log.level));
  Result<std::unique_ptr<AuditLog>> audit = AuditLog::Open(config.log.audit_file);
  if (!audit) return Fail(audit.error());

  SystemClock clock;
  const ServiceSettings settings = SettingsFrom(config);

  Store& store = *context->store;
  KeyRing keys(store, *context->box, settings.jwt.alg, settings.access_ttl_s);
  Status ensured = keys.EnsureSigningKey(clock.NowSeconds());
  if (!ensured) return Fail(ensured.error());
  VerifyCache cache;
  Metrics metrics;
  // Hashes run in helper processes, one per hash worker (why: service/hasher_processes.h); in
  // this process only if they cannot start.
  // Verification starts on libsodium and moves to the chosen implementation (with "auto", the
  // fastest on this machine, timed in the background) as soon as it is known.
  BackgroundArgon2Choice argon2(settings.password, config.password.implementation,
                                [&metrics](Result<Argon2Choice> choice) {
    if (!choice) return spdlog::warn("password verification stays on libsodium: {}", choice.error());
    SetPasswordBackend(choice->backend);
    metrics.Count("password_implementation", Argon2BackendName(choice->backend));
    spdlog::info("password verification: {} ({})", Argon2BackendName(choice->backend),
                 DescribeTimings(*choice));
  });
  const size_t hash_workers = OrCores(config.server.hash_workers);
  InProcessVerifier in_process;
  Result<std::unique_ptr<HasherProcesses>> hashers =
      HasherProcesses::Start(HasherBinary(), hash_workers, kHashWorkerNice, metrics);
  if (!hashers) spdlog::warn("{}: hashing in the server process", hashers.error());
  PasswordVerifier& passwords = hashers ? static_cast<PasswordVerifier&>(**hashers) : in_process;
  AuthService service(store, *context->box, keys, cache, metrics, **audit, clock, passwords,
                      settings);
  ChangeFollower follower(store, keys, cache, service.health(), clock,
                          {.access_ttl_s = config.tokens.access_ttl_s,
                           .lockout = settings.lockout,
                           .after_successful_poll = [&service] {
                             service.FlushDeferredOtpFailures();
                           }});
  if (!follower.Poll()) return Fail("store: cannot read the change log");

  // Hashing runs at a lower priority than the I/O threads: logins use the idle cores, but an
  // authorization check never waits behind an Argon2id hash (issue #4 (d)). With helpers, the
  // pool has two threads per helper: while one login waits for its store writes, the next
  // one's hash keeps the helper busy (a thread beyond that waits for a free helper).
  WorkerPool hash_pool(hashers ? 2 * hash_workers : hash_workers,
                       static_cast<size_t>(config.server.hash_queue_max), kHashWorkerNice);
  WorkerPool store_pool(4, 1024);
  HandlerDeps deps{service,
                   hash_pool,
                   store_pool,
                   metrics,
                   keys,
                   clock,
                   {config.ratelimit.per_address_per_s, static_cast<double>(config.ratelimit.burst)},
                   config.ratelimit.trusted_proxies};
  ApiHandler handler(deps);
  const ServerLimits limits = LimitsFrom(config);
  RaiseFileLimit();
  size_t threads = OrCores(config.server.threads);
  HttpServer server(handler, limits, threads);
  if (tls) {
    Status tls_ready = server.UseTls(config.server.tls_cert_file, config.server.tls_key_file);
    if (!tls_ready) return Fail(tls_ready.error());
  }
  Result<uint16_t> bound = server.Listen(host, port);
  if (!bound) return Fail(bound.error());

  ::signal(SIGPIPE, SIG_IGN);
  spdlog::info("authgate listening on {}://{}:{} ({} I/O threads, {} hash workers, {} tokens)",
               tls ? "https" : "http", host, *bound, threads, hash_workers,
               config.tokens.alg);
  std::unique_ptr<ManagementListener> management;
  if (!config.server.management_listen.empty()) {
    const bool required = config.server.management_listen != Config().server.management_listen;
    auto started = ManagementListener::Start(deps, limits, config.server.management_listen,
                                             required);
    if (!started) return Fail(started.error());
    management = std::move(*started);
  }
  boost::asio::signal_set signals(server.io_context(), SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    spdlog::info("signal {}: draining in-flight requests", signal_number);
    server.Drain();
    if (management) management->Drain();
  });
  follower.Start();
  server.Run();
  spdlog::info("authgate stopped");
  return 0;
}

}  // namespace

void RegisterServe(CLI::App& app, const GlobalOptions& options, int* exit_code) {
  auto listen = std::make_shared<std::string>();
  CLI::App* serve = app.add_subcommand("serve", "run the HTTP server");
  serve->add_option("--listen", *listen, "HOST:PORT to listen on (default server.listen)");
  serve->callback([&options, listen, exit_code] { *exit_code = Serve(options, *listen); });
}

}  // namespace authgate::cli
