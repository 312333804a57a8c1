// ServiceSettings: the configuration the use cases share (lockout, password hashing, tokens,
// otp skew), read from the config file once at startup and never changed afterwards.
#pragma once

#include <cstdint>

#include "core/jwt.h"
#include "core/lockout.h"
#include "core/password.h"

namespace authgate {

struct ServiceSettings {
  LockoutPolicy lockout;
  PasswordParams password;
  JwtPolicy jwt;
  int64_t access_ttl_s = 3600;
  int64_t refresh_ttl_s = 86400;
  int64_t refresh_reuse_window_s = 0;  // SPEC §10.2 (0: no replay window)
  int skew_steps = 1;

  // How long after its issue an access token still verifies (its lifetime and the leeway):
  // what keeps a session live (SPEC §10.4).
  int64_t access_verifies_s() const { return access_ttl_s + jwt.leeway_s; }
};

}  // namespace authgate
