// HttpRequest, HttpResponse: authgate's own small HTTP/1.1 messages.
//
// A request keeps its target, fields and body in buffers that are reused from one request to the
// next on a connection: parsing a request allocates nothing once a connection has seen one of
// its size. RequestParser is Beast's HTTP/1.1 parser (syntax, header and body limits, chunked
// bodies, keep-alive rules) writing into an HttpRequest; it also refuses every header whose
// framing a proxy in front could read differently (CheckFraming, SPEC.md §10.5).
//
// A response is its status, its header lines (already formatted) and its body; SerializeResponse
// adds the status line, Content-Length and Connection.
#pragma once

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace authgate {

class HttpRequest {
 public:
  boost::beast::http::verb method() const { return method_; }
  std::string_view target() const { return target_; }
  unsigned version() const { return version_; }  // 10 or 11
  bool keep_alive() const { return keep_alive_; }
  // An HTTP/1.1 request with "Expect: 100-continue": its client waits for "100 Continue" before
  // it sends the body.
  bool expects_continue() const { return expects_continue_; }
  const std::string& body() const { return body_; }

  // Field names are matched ASCII case-insensitively; values come in the order received.
  struct FieldValues {
    std::string_view first;  // empty when count == 0
    size_t count = 0;
  };
  FieldValues Find(std::string_view name) const;
  std::vector<std::string_view> Values(std::string_view name) const;

  // Forgets the request but keeps the buffers (up to a bound) for the next one.
  void Reset();

 private:
  friend class RequestParser;
  struct FieldRef {
    uint32_t name_offset, name_size, value_offset, value_size;
  };
  std::string_view Name(const FieldRef& field) const {
    return std::string_view(fields_).substr(field.name_offset, field.name_size);
  }
  std::string_view FieldValue(const FieldRef& field) const {
    return std::string_view(fields_).substr(field.value_offset, field.value_size);
  }

  boost::beast::http::verb method_ = boost::beast::http::verb::unknown;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool expects_continue_ = false;
  std::string target_;
  std::string fields_;  // every name and value, back to back
  std::vector<FieldRef> refs_;
  std::string body_;
};

// Why a request header's framing is refused. Each is answered 400 with the connection closed:
// a proxy in front may have framed the same bytes differently, so nothing after them on the
// connection can be trusted to be the request the proxy saw (request smuggling).
enum class FramingError {
  kNone = 0,
  kTransferEncoding,  // a Transfer-Encoding other than one "chunked", or any in HTTP/1.0
  kContentLengthWithTransferEncoding,
  kObsFold,  // a header line that starts with SP or HTAB, continuing the one before
  kHost,     // no Host in HTTP/1.1, or more than one Host in any version
};
boost::system::error_code make_error_code(FramingError error);

// What a request header says about its own framing, gathered field by field while it is parsed.
struct FramingFields {
  unsigned version = 11;  // 10 or 11
  unsigned host_fields = 0;
  unsigned transfer_encoding_fields = 0;
  bool transfer_encoding_chunked = true;  // every Transfer-Encoding value is "chunked"
  bool content_length = false;
  bool obs_fold = false;
};

// The framing rules of SPEC.md §10.5 (RFC 9112 §3.2, §5.2, §6.1), strictest reading: values
// compare ASCII case-insensitively, without the optional whitespace around them.
FramingError CheckFraming(const FramingFields& header);

// Parses one request into `into` (which it resets). Use a new parser for each request; feed it
// with put() as Beast's basic_parser documents, and read the request once is_done(). A header
// that CheckFraming refuses makes put() fail with that FramingError before any body byte is read.
class RequestParser final : public boost::beast::http::basic_parser<true> {
 public:
  explicit RequestParser(HttpRequest& into) : request_(into) { request_.Reset(); }

 private:
  using error_code = boost::beast::error_code;
  void on_request_impl(boost::beast::http::verb method, std::string_view method_string,
                       std::string_view target, int version, error_code& ec) override;
  void on_response_impl(int, std::string_view, int, error_code&) override {}
  void on_field_impl(boost::beast::http::field, std::string_view name, std::string_view value,
                     error_code& ec) override;
  void on_header_impl(error_code& ec) override;
  void on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                         error_code& ec) override;
  size_t on_body_impl(std::string_view body, error_code& ec) override;
  void on_chunk_header_impl(std::uint64_t, std::string_view, error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, std::string_view body, error_code& ec) override;
  void on_finish_impl(error_code& ec) override;

  void NoteFraming(boost::beast::http::field field, std::string_view name, std::string_view value);

  HttpRequest& request_;
  FramingFields framing_;
  bool expect_continue_ = false;
};

class HttpResponse {
 public:
  explicit HttpResponse(unsigned status = 500) : status_(status) {}

  unsigned status() const { return status_; }
  // Adds a header field. Each name is added at most once; Content-Length and Connection are the
  // server's. Control characters in `value` are dropped (no header injection).
  void Set(std::string_view name, std::string_view value);
  const std::string& fields() const { return fields_; }  // "Name: value\r\n" lines
  std::string& body() { return body_; }
  const std::string& body() const { return body_; }

 private:
  unsigned status_;
  std::string fields_;
  std::string body_;
};

// Writes `response` as HTTP/1.`version % 10` into *out (replacing its contents): status line,
// fields, Content-Length, Connection when the version's default is not what `keep_alive` says,
// then the body unless `head`.
void SerializeResponse(const HttpResponse& response, unsigned version, bool keep_alive, bool head,
                       std::string* out);

}  // namespace authgate
