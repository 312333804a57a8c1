// ServiceContext: what every use case (authenticator, login, refresh, logout) works with. The
// parts are owned by the caller (`serve`, a test) and must outlive the use cases built on them;
// each part is thread-safe, so a context may be shared by every thread.
#pragma once

#include "core/clock.h"
#include "core/crypto_box.h"
#include "service/audit.h"
#include "service/key_ring.h"
#include "service/metrics.h"
#include "service/service_settings.h"
#include "service/store_health.h"
#include "service/verify_cache.h"
#include "store/store.h"

namespace authgate {

struct ServiceContext {
  Store& store;
  const CryptoBox& box;
  const KeyRing& keys;
  VerifyCache& cache;
  StoreHealth& health;
  Metrics& metrics;
  AuditLog& audit;
  const Clock& clock;
  ServiceSettings settings;
};

}  // namespace authgate
