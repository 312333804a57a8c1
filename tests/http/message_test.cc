// HttpRequest / RequestParser / HttpResponse / SerializeResponse (src/http/message.h).
#include "http/message.h"

#include <gtest/gtest.h>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <string>

namespace authgate {
namespace {

namespace http = boost::beast::http;

// Feeds `raw` to a fresh parser in pieces of `chunk` bytes; returns the parser's final error.
boost::beast::error_code Parse(std::string_view raw, HttpRequest& request, size_t chunk = 1 << 20,
                               size_t body_limit = 16384) {
  RequestParser parser(request);
  parser.header_limit(8192);
  parser.body_limit(body_limit);
  parser.eager(true);
  std::string pending;
  boost::beast::error_code ec;
  for (size_t at = 0; at < raw.size() || !pending.empty();) {
    const size_t take = std::min(chunk, raw.size() - at);
    pending.append(raw.substr(at, take));
    at += take;
    ec = {};
    const size_t used = parser.put(boost::asio::buffer(pending), ec);
    pending.erase(0, used);
    if (ec == http::error::need_more) {
      if (at == raw.size()) return ec;
      continue;
    }
    if (ec || parser.is_done()) return ec;
  }
  return ec;
}

TEST(RequestParser, ReadsRequestLineFieldsAndBody) {
  HttpRequest request;
  const std::string raw =
      "POST /api/v1/public/auth/login?x=1 HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
      "Content-Length: 7\r\n\r\n{\"a\":1}";
  ASSERT_FALSE(Parse(raw, request));
  EXPECT_EQ(request.method(), http::verb::post);
  EXPECT_EQ(request.target(), "/api/v1/public/auth/login?x=1");
  EXPECT_EQ(request.version(), 11u);
  EXPECT_TRUE(request.keep_alive());
  EXPECT_EQ(request.Find("content-type").first, "application/json");
  EXPECT_EQ(request.body(), "{\"a\":1}");
}

TEST(RequestParser, SameResultWhateverTheReadSizes) {
  const std::string raw =
      "GET /x HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer abc\r\notp: 123456\r\n\r\n";
  for (size_t chunk : {1, 2, 7, 64}) {
    HttpRequest request;
    ASSERT_FALSE(Parse(raw, request, chunk)) << chunk;
    EXPECT_EQ(request.Find("Authorization").first, "Bearer abc") << chunk;
    EXPECT_EQ(request.Find("OTP").first, "123456") << chunk;
  }
}

TEST(RequestParser, RepeatedFieldsAreCountedInOrder) {
  HttpRequest request;
  ASSERT_FALSE(
      Parse("GET / HTTP/1.1\r\nHost: a\r\notp: 1\r\nOtp: 2\r\nX-Forwarded-For: a, b\r\n"
            "x-forwarded-for: c\r\n\r\n",
            request));
  EXPECT_EQ(request.Find("otp").count, 2u);
  EXPECT_EQ(request.Find("otp").first, "1");
  EXPECT_EQ(request.Values("X-Forwarded-For"), (std::vector<std::string_view>{"a, b", "c"}));
  EXPECT_EQ(request.Find("Authorization").count, 0u);
  EXPECT_EQ(request.Find("Authorization").first, "");
}

TEST(RequestParser, ReusedRequestForgetsThePreviousOne) {
  HttpRequest request;
  ASSERT_FALSE(
      Parse("POST /a HTTP/1.1\r\nHost: a\r\notp: 1\r\nContent-Length: 3\r\n\r\nabc", request));
  ASSERT_FALSE(Parse("GET /b HTTP/1.0\r\n\r\n", request));
  EXPECT_EQ(request.target(), "/b");
  EXPECT_EQ(request.Find("otp").count, 0u);
  EXPECT_EQ(request.body(), "");
  EXPECT_EQ(request.version(), 10u);
  EXPECT_FALSE(request.keep_alive());  // HTTP/1.0 without keep-alive
}

TEST(RequestParser, ChunkedBodyIsJoined) {
  HttpRequest request;
  ASSERT_FALSE(
      Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
            "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            request, 5));
  EXPECT_EQ(request.body(), "abcde");
}

TEST(RequestParser, LimitsAndSyntaxAreErrors) {
  HttpRequest request;
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 20\r\n\r\n", request, 64, 10),
            http::error::body_limit);
  EXPECT_EQ(Parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nb\r\nhello "
                  "world\r\n0\r\n\r\n",
                  request, 64, 10),
            http::error::body_limit);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", request),
            http::error::header_limit);
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", request));
  EXPECT_TRUE(Parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", request));
  EXPECT_TRUE(Parse("NOT HTTP\r\n\r\n", request));
}

// A request line and Host, then `fields` (each ending in CRLF), the empty line and `body`.
std::string Request(std::string_view fields, std::string_view body = "") {
  return "POST /api/v1/public/auth/login HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n" +
         std::string(body);
}

const boost::beast::error_code kTransferEncoding = make_error_code(FramingError::kTransferEncoding);

TEST(RequestParser, TransferEncodingOtherThanChunkedIsRefused) {
  HttpRequest request;
  for (const char* value : {"xchunked", "chunked, identity", "identity", "gzip", "gzip, chunked",
                            "chunked;q=1", "chunked chunked", ""}) {
    EXPECT_EQ(
        Parse(Request("Transfer-Encoding: " + std::string(value) + "\r\n", "0\r\n\r\n"), request),
        kTransferEncoding)
        << value;
  }
  // Two fields are one list ("gzip, chunked"); Beast refuses "chunked" twice on its own.
  EXPECT_EQ(Parse(Request("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"),
                  request),
            kTransferEncoding);
  EXPECT_TRUE(
      Parse(Request("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"), request));
  // HTTP/1.0 has no transfer codings.
  EXPECT_EQ(Parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", request),
            kTransferEncoding);
}

TEST(RequestParser, ChunkedInAnyCaseAndWithSurroundingWhitespaceIsRead) {
  for (const char* value : {"chunked", "CHUNKED", "Chunked", "chunked   ", "\tchunked\t"}) {
    HttpRequest request;
    ASSERT_FALSE(
        Parse(Request("Transfer-Encoding:" + std::string(value) + "\r\n", "3\r\nabc\r\n0\r\n\r\n"),
              request))
        << value;
    EXPECT_EQ(request.body(), "abc") << value;
  }
}

TEST(RequestParser, ContentLengthWithTransferEncodingIsRefused) {
  HttpRequest request;
  EXPECT_EQ(Parse(Request("Transfer-Encoding: gzip\r\nContent-Length: 3\r\n", "abc"), request),
            make_error_code(FramingError::kContentLengthWithTransferEncoding));
  // Beast refuses these orders itself, before the header is complete.
  EXPECT_TRUE(Parse(Request("Content-Length: 3\r\nTransfer-Encoding: gzip\r\n", "abc"), request));
  EXPECT_TRUE(
      Parse(Request("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\n"), request));
  EXPECT_TRUE(
      Parse(Request("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "0\r\n\r\n"), request));
}

TEST(RequestParser, ObsoleteLineFoldingIsRefusedWhateverTheReadSizes) {
  const boost::beast::error_code folded = make_error_code(FramingError::kObsFold);
  for (size_t chunk : {1, 3, 64, 1 << 20}) {
    HttpRequest request;
    EXPECT_EQ(Parse(Request("Authorization: Bearer\r\n abc\r\notp: 123456\r\n"), request, chunk),
              folded)
        << chunk;
    EXPECT_EQ(Parse(Request("otp:\r\n\t123456\r\n"), request, chunk), folded) << chunk;
    EXPECT_EQ(Parse(Request("otp: 123\r\n 456\r\n \r\n"), request, chunk), folded) << chunk;
    EXPECT_EQ(Parse(Request("X: a\r\n \r\nY: b\r\n"), request, chunk), folded) << chunk;
    // One-line fields, however their whitespace falls, are not folds.
    ASSERT_FALSE(
        Parse(Request("otp:123456\r\nA: \t x \t\r\nEmpty:\r\nBlank:   \r\n"), request, chunk))
        << chunk;
    EXPECT_EQ(request.Find("A").first, "x");
    EXPECT_EQ(request.Find("Blank").first, "");
  }
}

TEST(RequestParser, TrailerFieldsAreNotMergedIntoTheHeader) {
  HttpRequest request;
  ASSERT_FALSE(Parse(Request("Transfer-Encoding: chunked\r\n",
                             "3\r\nabc\r\n0\r\nHost: b\r\notp: 123456\r\n\r\n"),
                     request));
  EXPECT_EQ(request.body(), "abc");
  EXPECT_EQ(request.Find("Host").count, 1u);
  EXPECT_EQ(request.Find("otp").count, 0u);
}

TEST(RequestParser, HostOnceInHttp11AtMostOnceInHttp10) {
  HttpRequest request;
  const boost::beast::error_code host = make_error_code(FramingError::kHost);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\n\r\n", request), host);
  EXPECT_EQ(Parse("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", request), host);
  EXPECT_EQ(Parse("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", request), host);
  EXPECT_FALSE(Parse("GET / HTTP/1.0\r\n\r\n", request));
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHost:\r\n\r\n", request));  // RFC 9112 §3.2: allowed
  EXPECT_FALSE(Parse("GET / HTTP/1.1\r\nHOST: a:8080\r\n\r\n", request));
}

TEST(RequestParser, ExpectContinueOnlyInHttp11) {
  HttpRequest request;
  // Known once the header is in, before any of the body.
  EXPECT_FALSE(Parse(Request("Expect: 100-Continue\r\nContent-Length: 3\r\n"), request));
  EXPECT_TRUE(request.expects_continue());
  ASSERT_FALSE(Parse(Request("Content-Length: 3\r\n", "abc"), request));
  EXPECT_FALSE(request.expects_continue());
  ASSERT_FALSE(
      Parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\nabc", request));
  EXPECT_FALSE(request.expects_continue());
}

TEST(CheckFraming, EachRule) {
  EXPECT_EQ(CheckFraming({}), FramingError::kHost);
  EXPECT_EQ(CheckFraming({.host_fields = 1}), FramingError::kNone);
  EXPECT_EQ(CheckFraming({.version = 10}), FramingError::kNone);
  EXPECT_EQ(CheckFraming({.version = 10, .host_fields = 2}), FramingError::kHost);
  EXPECT_EQ(CheckFraming({.host_fields = 1, .transfer_encoding_fields = 1}), FramingError::kNone);
  EXPECT_EQ(CheckFraming({.host_fields = 1, .transfer_encoding_fields = 2}),
            FramingError::kTransferEncoding);
  EXPECT_EQ(
      CheckFraming(
          {.host_fields = 1, .transfer_encoding_fields = 1, .transfer_encoding_chunked = false}),
      FramingError::kTransferEncoding);
  EXPECT_EQ(CheckFraming({.version = 10, .host_fields = 1, .transfer_encoding_fields = 1}),
            FramingError::kTransferEncoding);
  EXPECT_EQ(CheckFraming({.host_fields = 1, .transfer_encoding_fields = 1, .content_length = true}),
            FramingError::kContentLengthWithTransferEncoding);
  EXPECT_EQ(CheckFraming({.host_fields = 1, .content_length = true}), FramingError::kNone);
  EXPECT_EQ(CheckFraming({.host_fields = 1, .obs_fold = true}), FramingError::kObsFold);
  EXPECT_EQ(make_error_code(FramingError::kObsFold).message(), "obsolete line folding");
}

TEST(HttpResponse, FieldsKeepTheirOrderAndDropControlCharacters) {
  HttpResponse response(401);
  response.Set("Content-Type", "application/json");
  response.Set("X-Auth-Username", "a\r\nSet-Cookie: x=1");
  EXPECT_EQ(response.status(), 401u);
  EXPECT_EQ(response.fields(),
            "Content-Type: application/json\r\nX-Auth-Username: aSet-Cookie: x=1\r\n");
}

TEST(SerializeResponse, StatusLineLengthAndConnection) {
  HttpResponse response(200);
  response.Set("Cache-Control", "no-store");
  response.body() = "{}";
  std::string out = "old";
  SerializeResponse(response, 11, true, false, &out);
  EXPECT_EQ(out, "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 2\r\n\r\n{}");
  SerializeResponse(response, 11, false, true, &out);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nCache-Control: no-store\r\nContent-Length: 2\r\n"
            "Connection: close\r\n\r\n");
  SerializeResponse(HttpResponse(404), 10, true, false, &out);
  EXPECT_EQ(out, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n");
}

}  // namespace
}  // namespace authgate
