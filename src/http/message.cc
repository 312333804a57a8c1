#include "http/message.h"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/status.hpp>
#include <algorithm>
#include <charconv>
#include <iterator>

namespace authgate {

namespace http = boost::beast::http;

namespace {

// Buffers larger than this are released after their request rather than kept for the next one.
constexpr size_t kKeptCapacity = 64 * 1024;

void Release(std::string& buffer) {
  if (buffer.capacity() > kKeptCapacity) std::string().swap(buffer);
  buffer.clear();
}

class FramingCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "authgate.framing"; }
  std::string message(int value) const override {
    switch (static_cast<FramingError>(value)) {
      case FramingError::kNone:
        return "framing accepted";
      case FramingError::kTransferEncoding:
        return "Transfer-Encoding other than chunked";
      case FramingError::kContentLengthWithTransferEncoding:
        return "Content-Length together with Transfer-Encoding";
      case FramingError::kObsFold:
        return "obsolete line folding";
      case FramingError::kHost:
        return "missing or repeated Host";
    }
    return "unknown framing error";
  }
};

// Beast 1.74 hands a field's value as a view into the input, just after "name:" and its optional
// whitespace, when the field is one line; when obs-fold joined lines, the value is a copy (or,
// after an empty first line, the continuation line). Reading on from the colon stays inside
// the field's own line. Should a later Beast copy every value, every field would count as
// folded and every request would be refused: the tests would show it at once.
bool Folded(std::string_view name, std::string_view value) {
  const char* after = name.data() + name.size() + 1;  // past the ':'
  while (*after == ' ' || *after == '\t') ++after;
  return after != value.data();
}

}  // namespace

HttpRequest::FieldValues HttpRequest::Find(std::string_view name) const {
  FieldValues found;
  for (const FieldRef& field : refs_) {
    if (!boost::beast::iequals(Name(field), name)) continue;
    if (found.count++ == 0) found.first = FieldValue(field);
  }
  return found;
}

std::vector<std::string_view> HttpRequest::Values(std::string_view name) const {
  std::vector<std::string_view> values;
  for (const FieldRef& field : refs_) {
    if (boost::beast::iequals(Name(field), name)) values.push_back(FieldValue(field));
  }
  return values;
}

void HttpRequest::Reset() {
  method_ = http::verb::unknown;
  version_ = 11;
  keep_alive_ = false;
  expects_continue_ = false;
  Release(target_);
  Release(fields_);
  Release(body_);
  if (refs_.capacity() > 256) std::vector<FieldRef>().swap(refs_);
  refs_.clear();
}

boost::system::error_code make_error_code(FramingError error) {
  static const FramingCategory category;
  return {static_cast<int>(error), category};
}

FramingError CheckFraming(const FramingFields& header) {
  if (header.obs_fold) return FramingError::kObsFold;
  if (header.transfer_encoding_fields > 0) {
    // RFC 9112 §6.1 lets a server refuse both; a proxy may have used either for the length.
    if (header.content_length) return FramingError::kContentLengthWithTransferEncoding;
    // HTTP/1.0 has no transfer codings (RFC 9112 §6.1: treat its framing as faulty).
    if (header.transfer_encoding_fields > 1 || !header.transfer_encoding_chunked ||
        header.version < 11) {
      return FramingError::kTransferEncoding;
    }
  }
  if (header.host_fields > 1 || (header.version >= 11 && header.host_fields == 0)) {
    return FramingError::kHost;
  }
  return FramingError::kNone;
}

void RequestParser::on_request_impl(http::verb method, std::string_view, std::string_view target,
                                    int version, error_code&) {
  request_.method_ = method;
  request_.target_.assign(target);
  request_.version_ = static_cast<unsigned>(version);
}

void RequestParser::on_field_impl(http::field field, std::string_view name, std::string_view value,
                                  error_code&) {
  // Trailer fields of a chunked body come here too. RFC 9110 §6.5.1: never merge them into the
  // header, which a proxy in front may have checked (an otp or Authorization added after it).
  if (is_header_done()) return;
  NoteFraming(field, name, value);
  // The header limit bounds both sizes well below 2^32.
  std::string& fields = request_.fields_;
  HttpRequest::FieldRef ref{};
  ref.name_offset = static_cast<uint32_t>(fields.size());
  ref.name_size = static_cast<uint32_t>(name.size());
  fields += name;
  ref.value_offset = static_cast<uint32_t>(fields.size());
  ref.value_size = static_cast<uint32_t>(value.size());
  fields += value;
  request_.refs_.push_back(ref);
}

// Runs once per field on Beast's own field code: no name comparison for the usual fields.
void RequestParser::NoteFraming(http::field field, std::string_view name, std::string_view value) {
  switch (field) {
    case http::field::host:
      ++framing_.host_fields;
      break;
    case http::field::transfer_encoding:
      ++framing_.transfer_encoding_fields;
      framing_.transfer_encoding_chunked &= boost::beast::iequals(value, "chunked");
      break;
    case http::field::content_length:
      framing_.content_length = true;
      break;
    case http::field::expect:
      expect_continue_ |= boost::beast::iequals(value, "100-continue");
      break;
    default:
      break;
  }
  if (Folded(name, value)) framing_.obs_fold = true;
}

void RequestParser::on_header_impl(error_code& ec) {
  framing_.version = request_.version_;
  const FramingError error = CheckFraming(framing_);
  if (error != FramingError::kNone) {
    ec = make_error_code(error);
    return;
  }
  // RFC 9110 §10.1.1: an HTTP/1.0 client cannot wait for 100 Continue.
  request_.expects_continue_ = expect_continue_ && request_.version_ >= 11;
}

void RequestParser::on_body_init_impl(const boost::optional<std::uint64_t>& content_length,
                                      error_code&) {
  // The parser has already checked content_length against its body limit.
  if (content_length) request_.body_.reserve(static_cast<size_t>(*content_length));
}

size_t RequestParser::on_body_impl(std::string_view body, error_code&) {
  request_.body_ += body;
  return body.size();
}

size_t RequestParser::on_chunk_body_impl(std::uint64_t, std::string_view body, error_code&) {
  request_.body_ += body;
  return body.size();
}

void RequestParser::on_finish_impl(error_code&) { request_.keep_alive_ = keep_alive(); }

void HttpResponse::Set(std::string_view name, std::string_view value) {
  const auto control = [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7f;
  };
  if (fields_.empty()) fields_.reserve(256);  // one allocation for the usual few fields
  fields_ += name;
  fields_ += ": ";
  if (std::none_of(value.begin(), value.end(), control)) {
    fields_ += value;
  } else {
    std::copy_if(value.begin(), value.end(), std::back_inserter(fields_),
                 [&](char c) { return !control(c); });
  }
  fields_ += "\r\n";
}

void SerializeResponse(const HttpResponse& response, unsigned version, bool keep_alive, bool head,
                       std::string* out) {
  char number[24];
  out->clear();
  *out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  *out += std::string_view(number, std::to_chars(number, number + sizeof number,
                                                 response.status()).ptr - number);
  *out += ' ';
  *out += http::obsolete_reason(static_cast<http::status>(response.status()));
  *out += "\r\n";
  *out += response.fields();
  *out += "Content-Length: ";
  *out += std::string_view(number, std::to_chars(number, number + sizeof number,
                                                 response.body().size()).ptr - number);
  *out += "\r\n";
  if (version == 10 && keep_alive) *out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) *out += "Connection: close\r\n";
  *out += "\r\n";
  if (!head) *out += response.body();
}

}  // namespace authgate
