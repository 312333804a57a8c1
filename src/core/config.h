// The configuration of SPEC.md §8: defaults, a TOML document, then AUTHGATE_<SECTION>_<KEY>
// environment overrides. Unknown keys in the document, wrong types and out-of-range values are
// errors that name the key. Pure: the caller reads the file and passes the environment.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/result.h"

namespace authgate {

struct Config {
  struct Server {
    std::string listen = "127.0.0.1:8080";
    // Operator-only endpoints (/metrics, /healthz, /readyz); "" = none (SPEC §10.5).
    std::string management_listen = "127.0.0.1:9464";
    int64_t threads = 0;
    int64_t yield_after_us = 250;
    int64_t slice_us = 100;
    int64_t max_body_bytes = 16384;
    int64_t hash_workers = 0;
    int64_t hash_queue_max = 64;
    std::string tls_cert_file;
    std::string tls_key_file;
  } server;
  struct Storage {
    std::string url = "sqlite:authgate-data/authgate.db";
    int64_t timeout_ms = 2000;  // bounds every store call (SPEC §10.1)
  } storage;
  struct Tokens {
    std::string alg = "HS256";
    std::string issuer = "authgate";
    std::string audience = "customer-api";
    int64_t access_ttl_s = 3600;
    int64_t refresh_ttl_s = 86400;
    int64_t refresh_reuse_window_s = 0;
    int64_t leeway_s = 0;
    // How long after its issue an access token still verifies: its lifetime and the leeway.
    // Sessions stay live, and retired signing keys verify, that long (SPEC §10.4).
    int64_t access_verifies_s() const { return access_ttl_s + leeway_s; }
  } tokens;
  struct Otp {
    int64_t skew_steps = 1;
  } otp;
  struct Lockout {
    int64_t max_failed_attempts = 5;
    int64_t otp_failures_before_hold = 20;
    int64_t duration_s = 600;
  } lockout;
  struct Password {
    int64_t memory_kib = 19456;
    int64_t iterations = 2;
    int64_t parallelism = 1;
    std::string implementation = "auto";  // or a core/argon2_backends.h name
  } password;
  struct RateLimit {
    double per_address_per_s = 5;
    int64_t burst = 20;
    std::vector<std::string> trusted_proxies;
  } ratelimit;
  struct Secrets {
    std::string master_key_file = "authgate-data/master.key";
  } secrets;
  struct Log {
    std::string level = "info";
    std::string audit_file;
  } log;
  bool storage_url_set = false;  // storage.url came from the file or AUTHGATE_STORAGE_URL
};

using Environment = std::map<std::string, std::string>;

// `toml_text` may be empty (defaults only).
Result<Config> ParseConfig(const std::string& toml_text, const Environment& environment);

// Splits "HOST:PORT" ("[::1]:PORT" for IPv6); false when malformed.
bool SplitHostPort(const std::string& listen, std::string* host, uint16_t* port);

}  // namespace authgate
