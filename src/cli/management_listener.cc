#include "cli/management_listener.h"

#include <spdlog/spdlog.h>

#include "core/config.h"

namespace authgate::cli {

ManagementListener::ManagementListener(const HandlerDeps& deps, const ServerLimits& limits)
    : handler_(deps, Surface::kManagement), server_(handler_, limits, 1) {}

ManagementListener::~ManagementListener() {
  server_.Drain();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<ManagementListener>> ManagementListener::Start(
    const HandlerDeps& deps, const ServerLimits& limits, const std::string& listen,
    bool required) {
  std::string host;
  uint16_t port = 0;
  if (!SplitHostPort(listen, &host, &port)) {
    return Error{"server.management_listen must be HOST:PORT, got '" + listen + "'"};
  }
  std::unique_ptr<ManagementListener> listener(new ManagementListener(deps, limits));
  Result<uint16_t> bound = listener->server_.Listen(host, port);
  if (!bound) {
    if (required) return Error{"server.management_listen: " + bound.error()};
    spdlog::warn("management listener off: {} (set server.management_listen, or \"\" to silence "
                 "this)", bound.error());
    return std::unique_ptr<ManagementListener>();
  }
  listener->thread_ = std::thread([server = &listener->server_] { server->Run(); });
  spdlog::info("management listening on http://{}:{} (/metrics, /healthz, /readyz)", host,
               *bound);
  return listener;
}

}  // namespace authgate::cli
