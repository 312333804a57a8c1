#include "core/session_liveness.h"

#include <algorithm>

namespace authgate {

int64_t SessionLiveUntil(const SessionTimes& times, int64_t access_ttl_s) {
  const int64_t last_access_issued = std::max(times.created_at, times.refreshed_at);
  return std::max(times.refresh_expires_at, last_access_issued + access_ttl_s);
}

LiveSessionHorizons LiveSessionHorizonsAt(int64_t now, int64_t access_ttl_s) {
  return LiveSessionHorizons{now, now - access_ttl_s};
}

}  // namespace authgate
