#include "core/encoding.h"

#include <liboath/oath.h>
#include <sodium.h>

#include <cctype>
#include <cstdlib>

namespace authgate {

std::string Base64UrlEncode(std::string_view bytes) {
  constexpr int kVariant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(bytes.size(), kVariant), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), kVariant);
  out.resize(out.size() - 1);  // drop the terminating NUL
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out(text.size() * 3 / 4 + 3, '\0');
  size_t out_len = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &out_len, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(out_len);
  // libsodium accepts non-zero trailing bits in some versions: insist on the canonical form.
  if (Base64UrlEncode(out) != text) return std::nullopt;
  return out;
}

std::string HexEncode(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.resize(bytes.size() * 2);
  return out;
}

std::string Base32Encode(std::string_view bytes) {
  char* out = nullptr;
  size_t out_len = 0;
  if (oath_base32_encode(bytes.data(), bytes.size(), &out, &out_len) != OATH_OK) return {};
  std::string result(out, out_len);
  free(out);
  while (!result.empty() && result.back() == '=') result.pop_back();
  return result;
}

std::optional<std::string> Base32Decode(std::string_view text) {
  std::string normalized;
  normalized.reserve(text.size() + 8);
  for (char c : text) {
    if (c == ' ') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    normalized.push_back(c);
  }
  while (!normalized.empty() && normalized.back() == '=') normalized.pop_back();
  if (normalized.empty()) return std::nullopt;
  for (char c : normalized) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7'))) return std::nullopt;
  }
  // Lengths that cannot come from whole bytes (1, 3 or 6 symbols in the last group) are refused.
  size_t tail = normalized.size() % 8;
  if (tail == 1 || tail == 3 || tail == 6) return std::nullopt;
  while (normalized.size() % 8 != 0) normalized.push_back('=');
  char* out = nullptr;
  size_t out_len = 0;
  if (oath_base32_decode(normalized.data(), normalized.size(), &out, &out_len) != OATH_OK) {
    return std::nullopt;
  }
  std::string result(out, out_len);
  sodium_memzero(out, out_len);
  free(out);
  return result;
}

std::string UriEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace authgate
