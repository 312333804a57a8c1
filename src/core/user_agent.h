// The User-Agent a session keeps (SPEC §10.4): what the login's header said, made safe to store
// on either engine and to show in JSON, a terminal or a log. Printable ASCII and well-formed
// UTF-8 characters other than controls are kept; every other byte (a control — C0, DEL, C1,
// the bidirectional controls U+200E–U+200F, U+202A–U+202E, U+2066–U+2069 and the separators
// U+2028–U+2029 — a byte of a malformed or overlong sequence, a surrogate) becomes '?'; the
// result is cut to at most kUserAgentMaxBytes at a character boundary. Pure; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace authgate {

constexpr size_t kUserAgentMaxBytes = 256;

std::string SessionUserAgent(std::string_view header);

}  // namespace authgate
