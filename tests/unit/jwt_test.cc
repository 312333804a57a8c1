#include "core/jwt.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/encoding.h"
#include "core/random.h"

namespace authgate {
namespace {

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto());
    hs_key_ = *MakeJwtKey("k1", JwtAlg::kHS256, SecretBytes(std::string(32, 'k')));
    ed_key_ = *MakeJwtKey("e1", JwtAlg::kEdDSA, SecretBytes(std::string(32, 'e')));
    policy_.alg = JwtAlg::kHS256;
    policy_.issuer = "authgate";
    policy_.audience = "customer-api";
    claims_.iss = "authgate";
    claims_.aud = "customer-api";
    claims_.sub = "42";
    claims_.sid = "session";
    claims_.jti = "jti";
    claims_.iat = kNow - 10;
    claims_.exp = kNow + 3600;
  }

  JwtVerification Verify(const std::string& token, const JwtPolicy& policy, int64_t now = kNow) {
    return VerifyJwt(
        token, policy,
        [&](std::string_view kid) -> const JwtKey* {
          if (kid == hs_key_.kid) return &hs_key_;
          if (kid == ed_key_.kid) return &ed_key_;
          return nullptr;
        },
        now);
  }
  JwtVerification Verify(const std::string& token) { return Verify(token, policy_); }

  // Builds a token from raw header and payload JSON, HMAC-signed with hs_key_.
  std::string Forge(const std::string& header, const std::string& payload) {
    std::string input = Base64UrlEncode(header) + "." + Base64UrlEncode(payload);
    return input + "." + Base64UrlEncode(SignJwsInput(input, hs_key_));
  }
  std::string Payload(nlohmann::json changes = nlohmann::json::object()) {
    nlohmann::json payload = {{"iss", "authgate"}, {"aud", "customer-api"}, {"sub", "42"},
                              {"sid", "session"},  {"jti", "jti"},          {"iat", kNow - 10},
                              {"exp", kNow + 3600}};
    for (auto& [key, value] : changes.items()) {
      if (value.is_null()) payload.erase(key);
      else payload[key] = value;
    }
    return payload.dump();
  }

  static constexpr int64_t kNow = 1700000000;
  JwtKey hs_key_;
  JwtKey ed_key_;
  JwtPolicy policy_;
  JwtClaims claims_;
};

// RFC 7515 Appendix A.1: HMAC SHA-256 JWS.
TEST_F(JwtTest, Hs256MatchesRfc7515AppendixA1) {
  std::string key = *Base64UrlDecode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow");
  JwtKey jwk = *MakeJwtKey("rfc", JwtAlg::kHS256, SecretBytes(key));
  std::string input =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
  EXPECT_EQ(Base64UrlEncode(SignJwsInput(input, jwk)), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  EXPECT_TRUE(VerifyJwsSignature(
      input, *Base64UrlDecode("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), jwk));
}

// RFC 8037 Appendix A.4/A.5: Ed25519 signing and verification.
TEST_F(JwtTest, EdDsaMatchesRfc8037AppendixA) {
  std::string seed = *Base64UrlDecode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A");
  JwtKey jwk = *MakeJwtKey("rfc", JwtAlg::kEdDSA, SecretBytes(seed));
  EXPECT_EQ(Base64UrlEncode(jwk.public_key), "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  std::string input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
  std::string expected =
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
  EXPECT_EQ(Base64UrlEncode(SignJwsInput(input, jwk)), expected);
  EXPECT_TRUE(VerifyJwsSignature(input, *Base64UrlDecode(expected), jwk));
  std::string tampered = input;
  tampered.back() = 'h';
  EXPECT_FALSE(VerifyJwsSignature(tampered, *Base64UrlDecode(expected), jwk));
}

TEST_F(JwtTest, SignedTokensVerifyWithTheirClaims) {
  JwtVerification hs = Verify(SignJwt(claims_, hs_key_));
  ASSERT_EQ(hs.status, JwtStatus::kValid);
  EXPECT_EQ(hs.claims.sub, "42");
  EXPECT_EQ(hs.claims.sid, "session");
  EXPECT_EQ(hs.claims.exp, kNow + 3600);

  JwtPolicy ed_policy = policy_;
  ed_policy.alg = JwtAlg::kEdDSA;
  EXPECT_EQ(Verify(SignJwt(claims_, ed_key_), ed_policy).status, JwtStatus::kValid);
}

TEST_F(JwtTest, OnlyTheConfiguredAlgorithmIsAccepted) {
  // An EdDSA token on an HS256 deployment, and the other way round.
  EXPECT_EQ(Verify(SignJwt(claims_, ed_key_)).status, JwtStatus::kInvalid);
  JwtPolicy ed_policy = policy_;
  ed_policy.alg = JwtAlg::kEdDSA;
  EXPECT_EQ(Verify(SignJwt(claims_, hs_key_), ed_policy).status, JwtStatus::kInvalid);
  // HS256 "signed" with the Ed25519 public key as the MAC key.
  JwtKey confused = *MakeJwtKey("e1", JwtAlg::kHS256, SecretBytes(ed_key_.public_key));
  EXPECT_EQ(Verify(SignJwt(claims_, confused), ed_policy).status, JwtStatus::kInvalid);
}

TEST_F(JwtTest, AlgNoneIsRefusedInEverySpelling) {
  for (const char* alg : {"none", "None", "NONE", "nOnE", ""}) {
    std::string header = std::string(R"({"alg":")") + alg + R"(","kid":"k1"})";
    std::string unsigned_token = Base64UrlEncode(header) + "." + Base64UrlEncode(Payload()) + ".";
    EXPECT_EQ(Verify(unsigned_token).status, JwtStatus::kInvalid) << alg;
    EXPECT_EQ(Verify(Forge(header, Payload())).status, JwtStatus::kInvalid) << alg;
  }
}

TEST_F(JwtTest, HeaderProblemsAreRefused) {
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"unknown"})", Payload())).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256"})", Payload())).status, JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1","crit":["exp"]})", Payload())).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1","jku":"http://x"})", Payload())).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"(["alg","HS256"])", Payload())).status, JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})", Payload())).status, JwtStatus::kValid);
}

TEST_F(JwtTest, MalformedTokensAreRefused) {
  std::string good = SignJwt(claims_, hs_key_);
  size_t dot = good.rfind('.');
  const std::string cases[] = {
      "",
      "abc",
      "a.b",
      good + ".extra",
      good.substr(0, dot),
      good + "=",                                 // padding
      good.substr(0, dot + 1) + "!!!",            // bad base64url
      " " + good,                                 // whitespace
      good.substr(0, dot + 1) + good.substr(dot + 1, 10),  // truncated signature
      std::string(5000, 'a') + "." + "b.c",       // oversized
  };
  for (const std::string& token : cases) {
    EXPECT_EQ(Verify(token).status, JwtStatus::kInvalid) << token.substr(0, 60);
  }
  // Flipping a payload character breaks the signature.
  std::string tampered = good;
  tampered[good.find('.') + 5] ^= 1;
  EXPECT_EQ(Verify(tampered).status, JwtStatus::kInvalid);
}

TEST_F(JwtTest, ClaimViolationsAreRefused) {
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})", Payload({{"iss", "evil"}}))).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})", Payload({{"aud", "other"}}))).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})",
                         Payload({{"aud", {"x", "customer-api"}}})))
                .status,
            JwtStatus::kValid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})", Payload({{"nbf", kNow + 100}}))).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})", Payload({{"exp", nullptr}}))).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})",
                         Payload({{"exp", std::to_string(kNow + 100)}})))
                .status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})", Payload({{"sub", 42}}))).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})", Payload({{"sub", "4a"}}))).status,
            JwtStatus::kInvalid);
  EXPECT_EQ(Verify(Forge(R"({"alg":"HS256","kid":"k1"})", Payload({{"sid", nullptr}}))).status,
            JwtStatus::kInvalid);
}

TEST_F(JwtTest, ExpiryIsReportedSeparatelyAndHonoursLeeway) {
  claims_.exp = kNow;
  std::string token = SignJwt(claims_, hs_key_);
  JwtVerification expired = Verify(token);
  EXPECT_EQ(expired.status, JwtStatus::kExpired);
  EXPECT_EQ(expired.claims.sid, "session");
  EXPECT_EQ(Verify(token, policy_, kNow - 1).status, JwtStatus::kValid);
  JwtPolicy lenient = policy_;
  lenient.leeway_s = 5;
  EXPECT_EQ(Verify(token, lenient, kNow + 4).status, JwtStatus::kValid);
  EXPECT_EQ(Verify(token, lenient, kNow + 5).status, JwtStatus::kExpired);
  claims_.exp = INT64_MAX;
  EXPECT_EQ(Verify(SignJwt(claims_, hs_key_)).status, JwtStatus::kValid);
}

}  // namespace
}  // namespace authgate
