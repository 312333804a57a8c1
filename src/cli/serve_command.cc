#include <malloc.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <thread>

#include "cli/commands.h"
#include "cli/management_listener.h"
#include "core/clock.h"
#include "core/random.h"
#include "http/server.h"
#include "service/argon2_choice.h"
#include "service/auth_service.h"
#include "service/change_follower.h"
#include "service/hasher_processes.h"
#include "service/worker_pool.h"
#include "service/write_probe.h"

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
constexpr size_t kStoreThreads = 32;

// This process's heartbeat row (WriteProbe): host and process id tell the operator whose it is,
// the random part keeps it unique where both repeat (a restart, containers that are all pid 1).
std::string InstanceId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + "/" + std::to_string(getpid()) + "/" + RandomId().substr(0, 8);
}

// authgate-hasher, installed (and built) beside this binary.
std::string HasherBinary() {
  std::error_code ec;
  std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "authgate-hasher";
  return (self.parent_path() / "authgate-hasher").string();
}

PasswordParams ParamsFrom(const Config& config) {
  return {static_cast<uint32_t>(config.password.memory_kib),
          static_cast<uint32_t>(config.password.iterations),
          static_cast<uint32_t>(config.password.parallelism)};
}

ServiceSettings SettingsFrom(const Config& config) {
  ServiceSettings settings;
  settings.lockout = {static_cast<int>(config.lockout.max_failed_attempts),
                      config.lockout.duration_s,
                      static_cast<int>(config.lockout.otp_failures_before_hold)};
  settings.password = ParamsFrom(config);
  ParseJwtAlg(config.tokens.alg, &settings.jwt.alg);
  settings.jwt.issuer = config.tokens.issuer;
  settings.jwt.audience = config.tokens.audience;
  settings.jwt.leeway_s = config.tokens.leeway_s;
  settings.access_ttl_s = config.tokens.access_ttl_s;
  settings.refresh_ttl_s = config.tokens.refresh_ttl_s;
  settings.refresh_reuse_window_s = config.tokens.refresh_reuse_window_s;
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

struct ListenPlan {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
};

Result<ListenPlan> PlanListen(const Config& config, const std::string& listen_override) {
  ListenPlan plan;
  std::string listen = listen_override.empty() ? config.server.listen : listen_override;
  if (!SplitHostPort(listen, &plan.host, &plan.port)) {
    return Error("--listen must be HOST:PORT, got '" + listen + "'");
  }
  plan.tls = !config.server.tls_cert_file.empty() || !config.server.tls_key_file.empty();
  if (plan.tls && (config.server.tls_cert_file.empty() || config.server.tls_key_file.empty())) {
    return Error("server.tls_cert_file and server.tls_key_file: set both for HTTPS, or neither");
  }
  return plan;
}

void StartLogging(const Config& config) {
  auto logger = spdlog::stderr_color_mt("authgate");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(config.log.level));
}

// Verification starts on libsodium and moves to the chosen implementation (with "auto", the
// fastest on this machine, timed in the background) as soon as it is known.
std::function<void(Result<Argon2Choice>)> OnArgon2Chosen(Metrics& metrics) {
  return [&metrics](Result<Argon2Choice> choice) {
    if (!choice) return spdlog::warn("password verification stays on libsodium: {}", choice.error());
    SetPasswordBackend(choice->backend);
    metrics.Count("password_implementation", Argon2BackendName(choice->backend));
    spdlog::info("password verification: {} ({})", Argon2BackendName(choice->backend),
                 DescribeTimings(*choice));
  };
}

// Binds the API listener (with TLS when planned) and the management listener: every way the
// server can refuse to start after the store is open.
Status BindListeners(const Config& config, const ListenPlan& plan, const HandlerDeps& deps,
                     HttpServer& server, std::unique_ptr<ManagementListener>* management) {
  const size_t threads = OrCores(config.server.threads);
  if (plan.tls) {
    Result<TlsCertificateInfo> tls =
        server.UseTls(config.server.tls_cert_file, config.server.tls_key_file);
    if (!tls) return tls.failure();
  }
  Result<uint16_t> bound = server.Listen(plan.host, plan.port);
  if (!bound) return bound.failure();
  spdlog::info("authgate listening on {}://{}:{} ({} I/O threads, {} hash workers, {} tokens)",
               plan.tls ? "https" : "http", plan.host, *bound, threads,
               OrCores(config.server.hash_workers), config.tokens.alg);
  if (config.server.management_listen.empty()) return {};
  const bool required = config.server.management_listen != Config().server.management_listen;
  auto started = ManagementListener::Start(deps, LimitsFrom(config),
                                           config.server.management_listen, required);
  if (!started) return started.failure();
  *management = std::move(*started);
  return {};
}

// What a signal acts on in a running server.
struct SignalTargets {
  HttpServer& server;
  std::unique_ptr<ManagementListener>& management;
  WorkerPool& reload_pool;  // reads the TLS files: an event loop must not wait for a disk
  const Config& config;
  bool tls;
};

// SIGHUP: reads the configured certificate and key again and logs one line, whether the new pair
// is in use or refused (then the previous one stays). At most one reload waits behind a running
// one; a SIGHUP that finds one waiting is answered by it, as it reads the files when it runs.
void ReloadOnHangup(const SignalTargets& targets) {
  if (!targets.tls) return spdlog::info("SIGHUP: TLS is not configured, nothing to reload");
  targets.reload_pool.Submit([&server = targets.server, &config = targets.config] {
    Result<TlsCertificateInfo> reloaded =
        server.ReloadTls(config.server.tls_cert_file, config.server.tls_key_file);
    if (!reloaded) {
      return spdlog::error("SIGHUP: TLS certificate not reloaded, the previous one stays: {}",
                           reloaded.error());
    }
    spdlog::info("SIGHUP: TLS certificate reloaded: subject {}, serial {}, not after {}",
                 reloaded->subject, reloaded->serial, reloaded->not_after);
  });
}

// SIGHUP reloads and waits for the next signal; SIGINT and SIGTERM drain, after which signals
// only queue in `signals` (the loop can run out of work and Run() return).
void AwaitSignal(boost::asio::signal_set& signals, SignalTargets targets) {
  signals.async_wait([&signals, targets](const boost::system::error_code& ec, int signal_number) {
    if (ec) return;
    if (signal_number == SIGHUP) {
      ReloadOnHangup(targets);
      return AwaitSignal(signals, targets);
    }
    spdlog::info("signal {}: draining in-flight requests", signal_number);
    targets.server.Drain();
    if (targets.management) targets.management->Drain();
  });
}

// The parts of a running server that outlive startup, built by Serve in dependency order.
struct Core {
  Store& store;
  KeyRing& keys;
  VerifyCache& cache;
  const ServiceSettings& settings;
  AuthService& service;
  Metrics& metrics;
  Clock& clock;
};

// Pools, handler and listeners; returns when the server has drained after SIGINT or SIGTERM.
// SIGHUP reloads the TLS certificate and key.
int RunServer(const Config& config, const ListenPlan& plan, Core core, bool helpers,
              size_t hash_workers) {
  ChangeFollower follower(core.store, core.keys, core.cache, core.service.health(),
                          core.clock,
                          {.access_ttl_s = config.tokens.access_verifies_s(),
                           .lockout = core.settings.lockout,
                           .after_successful_poll = [&core] {
                             core.service.FlushDeferredOtpFailures();
                           }});
  if (!follower.Poll()) return Fail("store: cannot read the change log");
  // Ready from the first request when writes commit; otherwise logged, and 503 until they do.
  WriteProbe write_probe(core.store, core.service.health(), core.clock,
                         {.instance_id = InstanceId()});
  write_probe.Beat();
  // Hashing runs at a lower priority than the I/O threads: logins use the idle cores, but an
  // authorization check never waits behind an Argon2id hash (issue #4 (d)). With helpers, the
  // pool has two threads per helper: while one login waits for its store writes, the next
  // one's hash keeps the helper busy (a thread beyond that waits for a free helper).
  WorkerPool hash_pool(helpers ? 2 * hash_workers : hash_workers,
                       static_cast<size_t>(config.server.hash_queue_max), kHashWorkerNice);
  // Store work mostly waits (for a commit, a lock, the network): enough threads that concurrent
  // writers queue in the store, where SQLite commits them together (store/group_commit.h), and
  // PostgreSQL's eight connections stay busy.
  WorkerPool store_pool(kStoreThreads, 1024);
  HandlerDeps deps{core.service,
                   hash_pool,
                   store_pool,
                   core.metrics,
                   core.keys,
                   core.clock,
                   {config.ratelimit.per_address_per_s, static_cast<double>(config.ratelimit.burst)},
                   config.ratelimit.trusted_proxies};
  ApiHandler handler(deps);
  RaiseFileLimit();
  HttpServer server(handler, LimitsFrom(config), OrCores(config.server.threads));
  std::unique_ptr<ManagementListener> management;
  WorkerPool reload_pool(1, 1);  // after the server: joined (a queued reload run) before it goes
  // Caught before the listeners log that they listen: a signal sent once they have is handled
  // (when Run() starts), never the default action.
  boost::asio::signal_set signals(server.io_context(), SIGINT, SIGTERM, SIGHUP);
  AwaitSignal(signals, {server, management, reload_pool, config, plan.tls});
  Status bound = BindListeners(config, plan, deps, server, &management);
  if (!bound) return Fail(bound.error());
  // Started only now: a server that refuses to start prints its one error line and nothing else.
  BackgroundArgon2Choice argon2(ParamsFrom(config), config.password.implementation,
                                OnArgon2Chosen(core.metrics));
  follower.Start();
  write_probe.Start();
  server.Run();
  spdlog::info("authgate stopped");
  return 0;
}

// Blocks of 1 MiB and more are mapped for themselves and unmapped when freed. glibc's default
// raises that threshold past the largest block freed so far: after the start-up timing of the
// Argon2id libraries (19 MiB each) that memory would stay resident in a thread's arena for the
// server's life. The hash helpers (their own processes) keep the default and reuse theirs.
void ReturnLargeBlocksToTheSystem() { ::mallopt(M_MMAP_THRESHOLD, 1 << 20); }

int Serve(const GlobalOptions& options, const std::string& listen_override) {
  ReturnLargeBlocksToTheSystem();
  Result<Context> context = OpenContext(options);
  if (!context) return Fail(context.error());
  const Config& config = context->config;
  Result<ListenPlan> plan = PlanListen(config, listen_override);
  if (!plan) return Fail(plan.error());
  StartLogging(config);
  Result<std::unique_ptr<AuditLog>> audit = AuditLog::Open(config.log.audit_file);
  if (!audit) return Fail(audit.error());

  SystemClock clock;
  const ServiceSettings settings = SettingsFrom(config);
  KeyRing keys(*context->store, *context->box, settings.jwt.alg, settings.access_verifies_s());
  Status ensured = keys.EnsureSigningKey(clock.NowSeconds());
  if (!ensured) return Fail(ensured.error());
  VerifyCache cache;
  Metrics metrics;
  // Hashes run in helper processes, one per hash worker (why: service/hasher_processes.h); in
  // this process only if they cannot start.
  const size_t hash_workers = OrCores(config.server.hash_workers);
  InProcessVerifier in_process;
  Result<std::unique_ptr<HasherProcesses>> hashers =
      HasherProcesses::Start(HasherBinary(), hash_workers, kHashWorkerNice, metrics);
  if (!hashers) spdlog::warn("{}: hashing in the server process", hashers.error());
  PasswordVerifier& passwords = hashers ? static_cast<PasswordVerifier&>(**hashers) : in_process;
  AuthService service(*context->store, *context->box, keys, cache, metrics, **audit, clock,
                      passwords, settings);
  return RunServer(config, *plan, {*context->store, keys, cache, settings, service, metrics, clock},
                   static_cast<bool>(hashers), hash_workers);
}

}  // namespace

void RegisterServe(CLI::App& app, const GlobalOptions& options, int* exit_code) {
  auto listen = std::make_shared<std::string>();
  CLI::App* serve = app.add_subcommand("serve", "run the HTTP server");
  serve->add_option("--listen", *listen, "HOST:PORT to listen on (default server.listen)");
  serve->callback([&options, listen, exit_code] { *exit_code = Serve(options, *listen); });
}

}  // namespace authgate::cli
