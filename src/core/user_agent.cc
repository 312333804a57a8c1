#include "core/user_agent.h"

#include <algorithm>

namespace authgate {
namespace {

// Format characters that reorder or break displayed text: U+061C (the Arabic letter mark),
// U+200E–U+200F (marks), U+2028–U+2029 (line and paragraph separators), U+202A–U+202E
// (embeddings, overrides), U+2066–U+2069 (isolates).
bool IsBidiOrSeparator(char32_t code) {
  return code == 0x061c || (code >= 0x200e && code <= 0x200f) ||
         (code >= 0x2028 && code <= 0x202e) ||
         (code >= 0x2066 && code <= 0x2069);
}

// The length of the well-formed UTF-8 character at the start of `text` that is not a control
// (C0, DEL, C1, bidirectional or separator), or 0.
size_t CharacterLength(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  if (lead >= 0x20 && lead < 0x7f) return 1;
  size_t length = 0;
  char32_t code = 0;
  if (lead >= 0xc2 && lead <= 0xdf) length = 2, code = lead & 0x1f;
  else if (lead >= 0xe0 && lead <= 0xef) length = 3, code = lead & 0x0f;
  else if (lead >= 0xf0 && lead <= 0xf4) length = 4, code = lead & 0x07;
  else return 0;
  if (text.size() < length) return 0;
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
    code = (code << 6) | (byte(i) & 0x3f);
  }
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10ffff) return 0;  // overlong or beyond Unicode
  if (code >= 0xd800 && code <= 0xdfff) return 0;             // a surrogate
  if (code < 0xa0) return 0;                                  // a C1 control
  if (IsBidiOrSeparator(code)) return 0;
  return length;
}

}  // namespace

std::string SessionUserAgent(std::string_view header) {
  std::string out;
  out.reserve(std::min(header.size(), kUserAgentMaxBytes));
  while (!header.empty()) {
    const size_t length = CharacterLength(header);
    const size_t taken = length == 0 ? 1 : length;  // a replaced byte is one '?'
    if (out.size() + taken > kUserAgentMaxBytes) break;
    if (length == 0) out += '?';
    else out.append(header.substr(0, length));
    header.remove_prefix(taken);
  }
  return out;
}

}  // namespace authgate
