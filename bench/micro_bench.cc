// Micro-benchmarks of the hot pieces: TOTP validation, JWT sign/verify (HS256, EdDSA),
// Argon2id at the configured parameters, request parsing and envelope encoding.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "core/jwt.h"
#include "core/password.h"
#include "core/random.h"
#include "core/requests.h"
#include "core/totp.h"
#include "http/envelope.h"

namespace authgate {
namespace {

constexpr int64_t kNow = 1700000000;

JwtClaims Claims() {
  JwtClaims claims;
  claims.iss = "authgate";
  claims.aud = "customer-api";
  claims.sub = "42";
  claims.sid = RandomId();
  claims.jti = RandomId();
  claims.iat = kNow;
  claims.exp = kNow + 3600;
  return claims;
}

void BM_TotpValidate(benchmark::State& state) {
  InitCrypto();
  SecretBytes secret = RandomSecret(20);
  std::string code = TotpCode(secret, kNow);
  for (auto _ : state) benchmark::DoNotOptimize(MatchTotp(secret, code, kNow, 1));
}
BENCHMARK(BM_TotpValidate);

void JwtBenchmark(benchmark::State& state, JwtAlg alg, bool sign) {
  InitCrypto();
  JwtKey key = *MakeJwtKey("k1", alg, RandomSecret(32));
  JwtPolicy policy{alg, "authgate", "customer-api", 0};
  std::string token = SignJwt(Claims(), key);
  auto lookup = [&](std::string_view kid) { return kid == key.kid ? &key : nullptr; };
  JwtClaims claims = Claims();
  for (auto _ : state) {
    if (sign) benchmark::DoNotOptimize(SignJwt(claims, key));
    else benchmark::DoNotOptimize(VerifyJwt(token, policy, lookup, kNow));
  }
}
void BM_JwtSignHS256(benchmark::State& s) { JwtBenchmark(s, JwtAlg::kHS256, true); }
void BM_JwtVerifyHS256(benchmark::State& s) { JwtBenchmark(s, JwtAlg::kHS256, false); }
void BM_JwtSignEdDSA(benchmark::State& s) { JwtBenchmark(s, JwtAlg::kEdDSA, true); }
void BM_JwtVerifyEdDSA(benchmark::State& s) { JwtBenchmark(s, JwtAlg::kEdDSA, false); }
BENCHMARK(BM_JwtSignHS256);
BENCHMARK(BM_JwtVerifyHS256);
BENCHMARK(BM_JwtSignEdDSA);
BENCHMARK(BM_JwtVerifyEdDSA);

void BM_Argon2idHash(benchmark::State& state) {
  InitCrypto();
  for (auto _ : state) benchmark::DoNotOptimize(HashPassword("correct horse battery", {}));
}
BENCHMARK(BM_Argon2idHash)->Unit(benchmark::kMillisecond)->Iterations(20);

void BM_Argon2idVerify(benchmark::State& state) {
  InitCrypto();
  std::string hash = *HashPassword("correct horse battery", {});
  for (auto _ : state) benchmark::DoNotOptimize(VerifyPassword(hash, "correct horse battery"));
}
BENCHMARK(BM_Argon2idVerify)->Unit(benchmark::kMillisecond)->Iterations(20);

void BM_ParseLoginBody(benchmark::State& state) {
  std::string body = R"({"username":"alice","password":"correct horse battery","otp":"123456"})";
  for (auto _ : state) benchmark::DoNotOptimize(ParseLoginBody(body));
}
BENCHMARK(BM_ParseLoginBody);

void BM_VerifyEnvelope(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(SuccessEnvelope(
        42, {{"userId", 42}, {"username", "alice"}, {"sessionId", "0123456789abcdef"},
             {"expiresAt", kNow}}));
  }
}
BENCHMARK(BM_VerifyEnvelope);

}  // namespace
}  // namespace authgate

BENCHMARK_MAIN();
