// IpAddress: an IPv4 or IPv6 address parsed from its text form, compared by value. Parsing is
// strict (inet_pton): no port, no brackets, no zone id, no surrounding spaces. An IPv4-mapped
// IPv6 address (::ffff:a.b.c.d) is the IPv4 address, so one client has one form whatever
// socket or proxy reported it. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace authgate {

struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4: the first 4 bytes; the rest stay zero

  bool operator==(const IpAddress&) const = default;
};

// Nothing when `text` is not exactly an IPv4 or IPv6 address.
std::optional<IpAddress> ParseIpAddress(std::string_view text);

// The canonical text (RFC 5952 for IPv6: lower case, longest zero run compressed).
std::string FormatIpAddress(const IpAddress& address);

}  // namespace authgate
