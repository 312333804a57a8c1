#include "core/config.h"

#include <gtest/gtest.h>

namespace authgate {
namespace {

TEST(ConfigTest, DefaultsMatchTheSpec) {
  Result<Config> config = ParseConfig("", {});
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->server.listen, "127.0.0.1:8080");
  EXPECT_EQ(config->server.management_listen, "127.0.0.1:9464");
  EXPECT_EQ(config->server.max_body_bytes, 16384);
  EXPECT_EQ(config->server.hash_queue_max, 64);
  EXPECT_EQ(config->storage.url, "sqlite:authgate-data/authgate.db");
  EXPECT_EQ(config->storage.timeout_ms, 2000);
  EXPECT_EQ(config->password.implementation, "auto");
  EXPECT_EQ(config->tokens.alg, "HS256");
  EXPECT_EQ(config->tokens.audience, "customer-api");
  EXPECT_EQ(config->tokens.access_ttl_s, 3600);
  EXPECT_EQ(config->tokens.refresh_ttl_s, 86400);
  EXPECT_EQ(config->otp.skew_steps, 1);
  EXPECT_EQ(config->lockout.max_failed_attempts, 5);
  EXPECT_EQ(config->lockout.duration_s, 600);
  EXPECT_EQ(config->password.memory_kib, 19456);
  EXPECT_EQ(config->ratelimit.per_address_per_s, 5);
  EXPECT_EQ(config->ratelimit.burst, 20);
  EXPECT_EQ(config->secrets.master_key_file, "authgate-data/master.key");
  EXPECT_EQ(config->log.level, "info");
  EXPECT_FALSE(config->storage_url_set);
  // authgate's own keys (SPEC.md §8 lists the contract's).
  EXPECT_EQ(config->server.yield_after_us, 250);
  EXPECT_EQ(config->server.slice_us, 100);
}

TEST(ConfigTest, FileThenEnvironment) {
  Result<Config> config = ParseConfig(R"(
[lockout]
duration_s = 30
max_failed_attempts = 3
[tokens]
alg = "EdDSA"
[ratelimit]
trusted_proxies = ["10.0.0.1", "10.0.0.2"]
per_address_per_s = 0.5
)",
                                      {{"AUTHGATE_LOCKOUT_DURATION_S", "3"},
                                       {"AUTHGATE_RATELIMIT_TRUSTED_PROXIES", "127.0.0.1, ::1"},
                                       {"AUTHGATE_STORAGE_URL", "sqlite:/tmp/x.db"},
                                       {"AUTHGATE_SERVER_YIELD_AFTER_US", "0"}});
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->lockout.duration_s, 3);
  EXPECT_EQ(config->lockout.max_failed_attempts, 3);
  EXPECT_EQ(config->tokens.alg, "EdDSA");
  EXPECT_EQ(config->ratelimit.per_address_per_s, 0.5);
  EXPECT_EQ(config->ratelimit.trusted_proxies, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(config->storage.url, "sqlite:/tmp/x.db");
  EXPECT_TRUE(config->storage_url_set);
  EXPECT_EQ(config->server.yield_after_us, 0);
}

void ExpectErrorNaming(const std::string& toml, const Environment& env, const std::string& key) {
  Result<Config> config = ParseConfig(toml, env);
  ASSERT_FALSE(config.ok()) << toml;
  EXPECT_NE(config.error().find(key), std::string::npos) << config.error();
}

TEST(ConfigTest, ErrorsNameTheKey) {
  ExpectErrorNaming("[lockout]\nmax_attempts = 3\n", {}, "lockout.max_attempts");
  ExpectErrorNaming("[nosuch]\nx = 1\n", {}, "nosuch.x");
  ExpectErrorNaming("[lockout]\nduration_s = \"10\"\n", {}, "lockout.duration_s");
  ExpectErrorNaming("[lockout]\nduration_s = -1\n", {}, "lockout.duration_s");
  ExpectErrorNaming("[tokens]\nalg = \"RS256\"\n", {}, "tokens.alg");
  ExpectErrorNaming("[server]\nlisten = \"nohost\"\n", {}, "server.listen");
  ExpectErrorNaming("[server]\nmanagement_listen = \"9464\"\n", {}, "server.management_listen");
  ExpectErrorNaming("", {{"AUTHGATE_STORAGE_TIMEOUT_MS", "99"}}, "storage.timeout_ms");
  ExpectErrorNaming("", {{"AUTHGATE_PASSWORD_IMPLEMENTATION", "fast"}}, "password.implementation");
  ExpectErrorNaming("[storage]\ntimeout_ms = 60001\n", {}, "storage.timeout_ms");
  ExpectErrorNaming("", {{"AUTHGATE_LOCKOUT_DURATION_S", "ten"}}, "AUTHGATE_LOCKOUT_DURATION_S");
  ExpectErrorNaming("", {{"AUTHGATE_OTP_SKEW_STEPS", "99"}}, "otp.skew_steps");
  ExpectErrorNaming("", {{"AUTHGATE_PASSWORD_PARALLELISM", "4"}}, "password.parallelism");
  Result<Config> broken = ParseConfig("[lockout\n", {});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().find("TOML"), std::string::npos);
}

// A proxy entry that is not an address would never match a peer: X-Forwarded-For would be
// silently ignored behind that proxy, so it is refused at startup instead.
TEST(ConfigTest, TrustedProxiesMustBeIpAddresses) {
  for (const char* entry : {"proxy.internal", "10.0.0.1:8080", "[::1]", "fe80::1%eth0",
                            "10.0.0.0/8", "010.0.0.1", " 10.0.0.1"}) {
    ExpectErrorNaming(std::string("[ratelimit]\ntrusted_proxies = [\"10.0.0.2\", \"") + entry +
                          "\"]\n",
                      {}, "ratelimit.trusted_proxies");
  }
  ExpectErrorNaming("", {{"AUTHGATE_RATELIMIT_TRUSTED_PROXIES", "10.0.0.1,localhost"}},
                    "ratelimit.trusted_proxies");
  Result<Config> config = ParseConfig(
      "[ratelimit]\ntrusted_proxies = [\"10.0.0.1\", \"2001:DB8::1\", \"::ffff:10.0.0.3\"]\n",
      {});
  ASSERT_TRUE(config.ok()) << config.error();
  EXPECT_EQ(config->ratelimit.trusted_proxies.size(), 3u);
}

TEST(ConfigTest, SplitHostPort) {
  std::string host;
  uint16_t port = 0;
  EXPECT_TRUE(SplitHostPort("127.0.0.1:8080", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 8080);
  EXPECT_TRUE(SplitHostPort("[::1]:0", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(SplitHostPort("127.0.0.1", &host, &port));
  EXPECT_FALSE(SplitHostPort("127.0.0.1:70000", &host, &port));
  EXPECT_FALSE(SplitHostPort(":80", &host, &port));
}

}  // namespace
}  // namespace authgate
