// Token bucket for the per-address rate limit of SPEC.md §8 [ratelimit], as pure arithmetic.
#pragma once

#include <cstdint>

namespace authgate {

struct TokenBucket {
  double tokens = -1;  // < 0: not yet used, starts full
  int64_t last_ms = 0;
};

struct RateLimitPolicy {
  double per_second = 5;
  double burst = 20;
};

// Takes one token at `now_ms`. On refusal, *retry_after_s is the whole number of seconds (>= 1)
// until a token is available.
bool TakeToken(TokenBucket& bucket, int64_t now_ms, const RateLimitPolicy& policy,
               int64_t* retry_after_s);

}  // namespace authgate
