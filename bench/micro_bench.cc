// Micro-benchmarks of the hot pieces: TOTP validation, JWT sign/verify (HS256, EdDSA),
// Argon2id at the configured parameters, request parsing and envelope encoding.
#include <argon2.h>
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <boost/asio/buffer.hpp>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/jwt.h"
#include "core/password.h"
#include "core/random.h"
#include "core/requests.h"
#include "core/totp.h"
#include "http/envelope.h"
#include "http/message.h"

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
// Every packaged implementation (core/argon2_backends.h) verifying the same default-parameter
// hash: which one the server picks on this machine. libargon2 runs here in its reused,
// pre-faulted buffer (as in the server); BM_Argon2idHashLibargon2 below is it allocating per hash.
void BM_Argon2idVerifyBackend(benchmark::State& state) {
  InitCrypto();
  const Argon2Backend backend = AllArgon2Backends()[static_cast<size_t>(state.range(0))];
  state.SetLabel(std::string(Argon2BackendName(backend)));
  std::string hash = *HashPassword("correct horse battery", {});
  for (auto _ : state) {
    benchmark::DoNotOptimize(VerifyArgon2id(backend, hash, "correct horse battery"));
  }
}
BENCHMARK(BM_Argon2idVerifyBackend)->DenseRange(0, 3)->Unit(benchmark::kMillisecond)->Iterations(10);
// One verify per core at once: what this machine's hashing alone can do in parallel (shared
// caches and memory bandwidth), the context for the login bound of bench/run_bench.py.
BENCHMARK(BM_Argon2idVerify)
    ->Name("BM_Argon2idVerifyEachCore")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(10)
    ->ThreadPerCpu()
    ->UseRealTime();

// The same hash (m = 19 MiB, t = 2, p = 1) with libargon2, to compare the two libraries
// (issue #4): first with libargon2 allocating its memory per hash, then with one buffer
// reused across hashes through its allocator callbacks.
constexpr uint32_t kMemoryKib = PasswordParams{}.memory_kib;
constexpr uint32_t kIterations = PasswordParams{}.iterations;

void BM_Argon2idHashLibargon2(benchmark::State& state) {
  const char password[] = "correct horse battery";
  unsigned char salt[16] = {1};
  unsigned char out[32];
  for (auto _ : state) {
    int rc = argon2id_hash_raw(kIterations, kMemoryKib, 1, password, sizeof(password) - 1, salt,
                               sizeof(salt), out, sizeof(out));
    if (rc != ARGON2_OK) state.SkipWithError(argon2_error_message(rc));
  }
}
BENCHMARK(BM_Argon2idHashLibargon2)->Unit(benchmark::kMillisecond)->Iterations(20);

std::vector<uint8_t>* reused_memory = nullptr;
int UseReused(uint8_t** memory, size_t bytes) {
  if (reused_memory->size() < bytes) reused_memory->resize(bytes);
  *memory = reused_memory->data();
  return ARGON2_OK;
}
void KeepReused(uint8_t*, size_t) {}

void BM_Argon2idHashLibargon2Reused(benchmark::State& state) {
  char password[] = "correct horse battery";
  unsigned char salt[16] = {1};
  unsigned char out[32];
  std::vector<uint8_t> memory;
  reused_memory = &memory;
  for (auto _ : state) {
    argon2_context context{};
    context.out = out;
    context.outlen = sizeof(out);
    context.pwd = reinterpret_cast<uint8_t*>(password);
    context.pwdlen = sizeof(password) - 1;
    context.salt = salt;
    context.saltlen = sizeof(salt);
    context.t_cost = kIterations;
    context.m_cost = kMemoryKib;
    context.lanes = 1;
    context.threads = 1;
    context.version = ARGON2_VERSION_13;
    context.allocate_cbk = UseReused;
    context.free_cbk = KeepReused;
    context.flags = ARGON2_DEFAULT_FLAGS;
    int rc = argon2_ctx(&context, Argon2_id);
    if (rc != ARGON2_OK) state.SkipWithError(argon2_error_message(rc));
  }
  reused_memory = nullptr;
}
BENCHMARK(BM_Argon2idHashLibargon2Reused)->Unit(benchmark::kMillisecond)->Iterations(20);

void BM_ParseLoginBody(benchmark::State& state) {
  std::string body = R"({"username":"alice","password":"correct horse battery","otp":"123456"})";
  for (auto _ : state) benchmark::DoNotOptimize(ParseLoginBody(body));
}
BENCHMARK(BM_ParseLoginBody);

// One verify request as wrk sends it, parsed into a connection's reused HttpRequest.
void BM_ParseVerifyRequest(benchmark::State& state) {
  const std::string raw =
      "GET /api/v1/auth/verify HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
      "Authorization: Bearer " + std::string(220, 'x') + "\r\notp: 123456\r\n\r\n";
  HttpRequest request;
  for (auto _ : state) {
    RequestParser parser(request);
    parser.eager(true);
    boost::beast::error_code ec;
    benchmark::DoNotOptimize(parser.put(boost::asio::buffer(raw), ec));
    benchmark::DoNotOptimize(request.Find("otp"));
  }
}
BENCHMARK(BM_ParseVerifyRequest);

// The verify answer's serialization into a connection's reused output buffer.
void BM_SerializeVerifyResponse(benchmark::State& state) {
  HttpResponse response(200);
  response.Set("Content-Type", "application/json");
  response.Set("Cache-Control", "no-store");
  response.Set("X-Auth-User-Id", "42");
  response.Set("X-Auth-Username", "alice");
  response.body() = std::string(150, 'x');
  std::string out;
  for (auto _ : state) {
    SerializeResponse(response, 11, true, false, &out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(BM_SerializeVerifyResponse);

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
