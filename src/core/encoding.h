// Byte encodings used on the wire and at rest: strict base64url (RFC 4648 §5, no padding,
// canonical only), lower-case hex, and base32 (RFC 4648 §6) for TOTP secrets.
// Decoders reject anything that is not exactly a canonical encoding and never throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace authgate {

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

std::string HexEncode(std::string_view bytes);

// Base32 as authenticator apps use it: upper case, no padding on output. Input may be lower
// case, contain spaces or trailing '=' padding; anything else outside the alphabet is refused.
std::string Base32Encode(std::string_view bytes);
std::optional<std::string> Base32Decode(std::string_view text);

// Percent-encoding for URI components (RFC 3986 unreserved characters kept).
std::string UriEncode(std::string_view text);

}  // namespace authgate
