// BearerToken / ExtractCredentials (src/http/bearer_extractor.h).
#include "http/bearer_extractor.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <string>

namespace authgate {
namespace {

using Presence = RequestCredentials::TokenPresence;

// The credentials of a complete GET request with `fields` (each "Name: value\r\n"), parsed
// into *request, which the views point into.
RequestCredentials Extract(const std::string& fields, HttpRequest* request) {
  RequestParser parser(*request);
  parser.eager(true);
  const std::string raw = "GET /api/v1/auth/verify HTTP/1.1\r\nHost: h\r\n" + fields + "\r\n";
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(raw), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(parser.is_done());
  return ExtractCredentials(*request);
}

TEST(BearerToken, TakesTheTokenOfTheBearerScheme) {
  EXPECT_EQ(BearerToken("Bearer abc.def.ghi"), "abc.def.ghi");
  EXPECT_EQ(BearerToken("bearer abc"), "abc");  // the scheme is case-insensitive
  EXPECT_EQ(BearerToken("BEARER abc"), "abc");
  EXPECT_EQ(BearerToken("Bearer   abc  "), "abc");
}

TEST(BearerToken, RefusesEverythingElse) {
  for (std::string_view value : {"", "Bearer", "Bearer ", "Bearer    ", "Basic abc", "Bearerabc",
                                 "Bearer a b", "Bearer\tabc", "Bear abc", "xBearer abc"}) {
    EXPECT_FALSE(BearerToken(value)) << "'" << value << "'";
  }
}

TEST(ExtractCredentials, FindsTheTokenAndTheOtp) {
  HttpRequest request;
  RequestCredentials credentials =
      Extract("Authorization: Bearer tok\r\notp: 123456\r\n", &request);
  EXPECT_EQ(credentials.presence, Presence::kBearer);
  EXPECT_EQ(credentials.token, "tok");
  EXPECT_EQ(credentials.otp, "123456");
  EXPECT_EQ(credentials.otp_count, 1u);
}

TEST(ExtractCredentials, NoAuthorizationFieldIsMissing) {
  HttpRequest request;
  EXPECT_EQ(Extract("otp: 123456\r\n", &request).presence, Presence::kMissing);
  EXPECT_EQ(Extract("", &request).otp_count, 0u);
}

TEST(ExtractCredentials, AnotherSchemeOrARepeatedFieldIsMalformed) {
  HttpRequest request;
  EXPECT_EQ(Extract("Authorization: Basic dTpw\r\n", &request).presence, Presence::kMalformed);
  RequestCredentials twice =
      Extract("Authorization: Bearer a\r\nauthorization: Bearer a\r\n", &request);
  EXPECT_EQ(twice.presence, Presence::kMalformed);
  EXPECT_EQ(twice.token, "");
}

TEST(ExtractCredentials, CountsOtpFields) {
  HttpRequest request;
  RequestCredentials credentials =
      Extract("Authorization: Bearer t\r\notp: 1\r\nOTP: 2\r\n", &request);
  EXPECT_EQ(credentials.otp, "1");
  EXPECT_EQ(credentials.otp_count, 2u);
}

}  // namespace
}  // namespace authgate
