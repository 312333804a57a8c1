// The User-Agent a session keeps (SPEC §10.4): what the login's header said, made safe to store
// on either engine and to show in JSON, a terminal or a log. Printable ASCII and well-formed
// UTF-8 characters other than controls are kept; every other byte (a control, a byte of a
// malformed or overlong sequence, a surrogate) becomes '?'; the result is cut to at most
// kUserAgentMaxBytes at a character boundary. Pure; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace authgate {

constexpr size_t kUserAgentMaxBytes = 256;

std::string SessionUserAgent(std::string_view header);

}  // namespace authgate
