#include "core/rate_limit.h"

#include <algorithm>
#include <cmath>

namespace authgate {

bool TakeToken(TokenBucket& bucket, int64_t now_ms, const RateLimitPolicy& policy,
               int64_t* retry_after_s) {
  if (bucket.tokens < 0) {
    bucket.tokens = policy.burst;
    bucket.last_ms = now_ms;
  }
  if (now_ms > bucket.last_ms) {
    double refill = static_cast<double>(now_ms - bucket.last_ms) / 1000.0 * policy.per_second;
    bucket.tokens = std::min(policy.burst, bucket.tokens + refill);
    bucket.last_ms = now_ms;
  }
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return true;
  }
  double wait = (1.0 - bucket.tokens) / policy.per_second;
  *retry_after_s = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait)));
  return false;
}

}  // namespace authgate
