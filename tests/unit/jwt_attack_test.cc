// The JWT attack table: crafted tokens that must all be refused (Token_Invalid), in the spirit
// of C2SP wycheproof's json_web_signature tests (our own tokens, written here).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/encoding.h"
#include "core/jwt.h"
#include "core/random.h"

namespace authgate {
namespace {

constexpr int64_t kNow = 1700000000;

class JwtAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto());
    hs_ = *MakeJwtKey("k1", JwtAlg::kHS256, SecretBytes(std::string(32, 's')));
    ed_ = *MakeJwtKey("e1", JwtAlg::kEdDSA, SecretBytes(std::string(32, 'e')));
  }

  static std::string B64(const std::string& text) { return Base64UrlEncode(text); }
  static std::string Payload(const std::string& extra = "") {
    return R"({"iss":"authgate","aud":"customer-api","sub":"42","sid":"s1","jti":"j",)"
           R"("iat":1699999990,"exp":1700003600)" + extra + "}";
  }
  // header.payload signed with HS256 key `key`.
  std::string Hs(const std::string& header, const std::string& payload, const JwtKey* key = nullptr) {
    std::string input = B64(header) + "." + B64(payload);
    return input + "." + B64(SignJwsInput(input, key ? *key : hs_));
  }
  JwtStatus Verify(const std::string& token, JwtAlg alg = JwtAlg::kHS256) {
    JwtPolicy policy{alg, "authgate", "customer-api", 0};
    return VerifyJwt(
               token, policy,
               [&](std::string_view kid) -> const JwtKey* {
                 if (kid == hs_.kid) return &hs_;
                 if (kid == ed_.kid) return &ed_;
                 return nullptr;
               },
               kNow)
        .status;
  }

  JwtKey hs_;
  JwtKey ed_;
};

TEST_F(JwtAttackTest, TheControlTokenIsValid) {
  EXPECT_EQ(Verify(Hs(R"({"alg":"HS256","kid":"k1"})", Payload())), JwtStatus::kValid);
}

TEST_F(JwtAttackTest, EveryCraftedTokenIsRefused) {
  const std::string h = R"({"alg":"HS256","kid":"k1"})";
  const std::string good = Hs(h, Payload());
  const std::string signature = good.substr(good.rfind('.') + 1);
  JwtKey public_raw{"e1", JwtAlg::kHS256, SecretBytes(ed_.public_key), ""};
  JwtKey other_key = *MakeJwtKey("k1", JwtAlg::kHS256, SecretBytes(std::string(32, 'x')));
  std::vector<std::pair<std::string, std::string>> cases = {
      // alg none and friends
      {"alg none", B64(R"({"alg":"none","kid":"k1"})") + "." + B64(Payload()) + "."},
      {"alg None", B64(R"({"alg":"None","kid":"k1"})") + "." + B64(Payload()) + "."},
      {"alg NONE", B64(R"({"alg":"NONE","kid":"k1"})") + "." + B64(Payload()) + "."},
      {"alg empty", B64(R"({"alg":"","kid":"k1"})") + "." + B64(Payload()) + "."},
      {"alg none signed", Hs(R"({"alg":"none","kid":"k1"})", Payload())},
      {"alg missing", Hs(R"({"kid":"k1"})", Payload())},
      {"alg null", Hs(R"({"alg":null,"kid":"k1"})", Payload())},
      {"alg number", Hs(R"({"alg":256,"kid":"k1"})", Payload())},
      {"alg lower", Hs(R"({"alg":"hs256","kid":"k1"})", Payload())},
      {"alg HS512", Hs(R"({"alg":"HS512","kid":"k1"})", Payload())},
      {"alg RS256", Hs(R"({"alg":"RS256","kid":"k1"})", Payload())},
      {"alg EdDSA on HS256", Hs(R"({"alg":"EdDSA","kid":"e1"})", Payload())},
      // key confusion
      {"HS256 with Ed25519 public key", Hs(R"({"alg":"HS256","kid":"e1"})", Payload(), &public_raw)},
      {"HS256 with the public key as kid k1", Hs(R"({"alg":"HS256","kid":"k1"})", Payload(), &public_raw)},
      {"wrong HMAC key", Hs(h, Payload(), &other_key)},
      // kid games
      {"kid unknown", Hs(R"({"alg":"HS256","kid":"k2"})", Payload())},
      {"kid path traversal", Hs(R"({"alg":"HS256","kid":"../../../../dev/null"})", Payload())},
      {"kid sql injection", Hs(R"({"alg":"HS256","kid":"x' OR '1'='1"})", Payload())},
      {"kid empty", Hs(R"({"alg":"HS256","kid":""})", Payload())},
      {"kid number", Hs(R"({"alg":"HS256","kid":1})", Payload())},
      {"kid missing", Hs(R"({"alg":"HS256"})", Payload())},
      {"kid with NUL", Hs(std::string(R"({"alg":"HS256","kid":"k1\u0000x"})"), Payload())},
      // key-bearing and critical headers
      {"jwk header", Hs(R"({"alg":"HS256","kid":"k1","jwk":{"kty":"oct","k":"AAAA"}})", Payload())},
      {"jku header", Hs(R"({"alg":"HS256","kid":"k1","jku":"https://evil/jwks"})", Payload())},
      {"x5u header", Hs(R"({"alg":"HS256","kid":"k1","x5u":"https://evil/cert"})", Payload())},
      {"x5c header", Hs(R"({"alg":"HS256","kid":"k1","x5c":["AAAA"]})", Payload())},
      {"crit header", Hs(R"({"alg":"HS256","kid":"k1","crit":["exp"]})", Payload())},
      {"crit empty", Hs(R"({"alg":"HS256","kid":"k1","crit":[]})", Payload())},
      // JSON structure
      {"header array", Hs(R"(["HS256"])", Payload())},
      {"header string", Hs(R"("HS256")", Payload())},
      {"header not JSON", Hs("alg=HS256", Payload())},
      {"payload array", Hs(h, "[1]")},
      {"payload not JSON", Hs(h, "sub=42")},
      {"payload trailing garbage", Hs(h, Payload() + "x")},
      {"duplicate alg, last none", Hs(R"({"alg":"HS256","kid":"k1","alg":"none"})", Payload())},
      // encoding
      {"padding", good + "="},
      {"padded segments", B64(h) + "==." + B64(Payload()) + "." + signature},
      {"standard base64 alphabet", [&] {
         std::string t = good;
         for (char& c : t) {
           if (c == '-') c = '+';
           if (c == '_') c = '/';
         }
         return t == good ? good + "+" : t;
       }()},
      {"whitespace inside", good.substr(0, 10) + " " + good.substr(10)},
      {"leading whitespace", " " + good},
      {"trailing newline", good + "\n"},
      {"non-canonical last char", good.substr(0, good.size() - 1) +
                                      (good.back() == 'A' ? "B" : (good.back() == 'B' ? "C" : "A"))},
      // segments
      {"two segments", good.substr(0, good.rfind('.'))},
      {"four segments", good + "." + signature},
      {"empty signature", good.substr(0, good.rfind('.') + 1)},
      {"empty token", ""},
      {"only dots", ".."},
      {"nested JWT as payload", Hs(h, good)},
      {"JWE-like five parts", good + ".a.b"},
      {"over-long token", Hs(h, Payload(",\"pad\":\"" + std::string(5000, 'a') + "\""))},
      // claims
      {"exp as string", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"42","sid":"s1","jti":"j","iat":1699999990,"exp":"1700003600"})")},
      {"exp as float", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"42","sid":"s1","jti":"j","iat":1699999990,"exp":1700003600.5})")},
      {"exp overflowing", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"42","sid":"s1","jti":"j","iat":1699999990,"exp":99999999999999999999999})")},
      {"exp missing", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"42","sid":"s1","jti":"j","iat":1699999990})")},
      {"iat as string", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"42","sid":"s1","jti":"j","iat":"1699999990","exp":1700003600})")},
      {"sub as number", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":42,"sid":"s1","jti":"j","iat":1699999990,"exp":1700003600})")},
      {"sub negative", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"-1","sid":"s1","jti":"j","iat":1699999990,"exp":1700003600})")},
      {"sub too long", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"99999999999999999999","sid":"s1","jti":"j","iat":1699999990,"exp":1700003600})")},
      {"iss wrong", Hs(h, R"({"iss":"evil","aud":"customer-api","sub":"42","sid":"s1","jti":"j","iat":1699999990,"exp":1700003600})")},
      {"aud wrong", Hs(h, R"({"iss":"authgate","aud":"other","sub":"42","sid":"s1","jti":"j","iat":1699999990,"exp":1700003600})")},
      {"aud empty array", Hs(h, R"({"iss":"authgate","aud":[],"sub":"42","sid":"s1","jti":"j","iat":1699999990,"exp":1700003600})")},
      {"sid missing", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"42","jti":"j","iat":1699999990,"exp":1700003600})")},
      {"nbf in the future", Hs(h, Payload(R"(,"nbf":1700000100)"))},
      {"iat far in the future", Hs(h, R"({"iss":"authgate","aud":"customer-api","sub":"42","sid":"s1","jti":"j","iat":1800000000,"exp":1800003600})")},
      // EdDSA tokens on an HS256 deployment
      {"EdDSA-signed token", SignJwt({"authgate", "customer-api", "42", "s1", "j", kNow, kNow + 60}, ed_)},
  };
  ASSERT_GE(cases.size(), 50u);
  for (const auto& [name, token] : cases) {
    EXPECT_EQ(Verify(token), JwtStatus::kInvalid) << name << ": " << token.substr(0, 120);
  }
}

TEST_F(JwtAttackTest, AnEdDsaDeploymentRefusesHs256AndForgedSignatures) {
  std::string valid = SignJwt({"authgate", "customer-api", "42", "s1", "j", kNow, kNow + 60}, ed_);
  EXPECT_EQ(Verify(valid, JwtAlg::kEdDSA), JwtStatus::kValid);
  JwtKey public_raw{"e1", JwtAlg::kHS256, SecretBytes(ed_.public_key), ""};
  std::string input = B64(R"({"alg":"EdDSA","kid":"e1"})") + "." + B64(Payload());
  std::vector<std::string> cases = {
      Hs(R"({"alg":"HS256","kid":"e1"})", Payload(), &public_raw),
      input + "." + B64(std::string(64, '\0')),
      input + "." + B64(std::string(63, 'a')),
      input + "." + valid.substr(valid.rfind('.') + 1),  // a signature of another payload
  };
  for (const std::string& token : cases) EXPECT_EQ(Verify(token, JwtAlg::kEdDSA), JwtStatus::kInvalid);
}

}  // namespace
}  // namespace authgate
