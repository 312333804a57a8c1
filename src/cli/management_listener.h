// ManagementListener: the operator's listener of SPEC §10.5 (server.management_listen): its own
// one-thread HttpServer with a management-surface ApiHandler (/metrics, /healthz, /readyz),
// run on a thread of its own so that scraping never takes a turn of the public event loops.
//
// Start and the destructor are for the serve command's main thread; Drain is safe from any
// thread. The destructor drains and joins.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "core/result.h"
#include "http/router.h"
#include "http/server.h"

namespace authgate::cli {

class ManagementListener {
 public:
  // Binds `listen` (HOST:PORT) and starts serving. When `required` is false (the address is
  // the default one) a failed bind returns nullptr with a warning logged instead of an error:
  // a second instance on a host must not refuse to serve its API for want of a metrics port.
  static Result<std::unique_ptr<ManagementListener>> Start(const HandlerDeps& deps,
                                                           const ServerLimits& limits,
                                                           const std::string& listen,
                                                           bool required);
  ~ManagementListener();

  void Drain() { server_.Drain(); }

 private:
  ManagementListener(const HandlerDeps& deps, const ServerLimits& limits);

  ApiHandler handler_;
  HttpServer server_;
  std::thread thread_;
};

}  // namespace authgate::cli
