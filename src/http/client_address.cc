#include "http/client_address.h"

#include <algorithm>
#include <optional>

#include "core/ip_address.h"

namespace authgate {
namespace {

// HTTP's optional whitespace around list elements (RFC 9110 §5.6.1).
std::string_view TrimSpaces(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

// The hops of every X-Forwarded-For value, left to right, empty elements dropped.
std::vector<std::string_view> Hops(const std::vector<std::string_view>& values) {
  std::vector<std::string_view> hops;
  for (std::string_view value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t comma = value.find(',', start);
      if (comma == std::string_view::npos) comma = value.size();
      std::string_view hop = TrimSpaces(value.substr(start, comma - start));
      if (!hop.empty()) hops.push_back(hop);
      start = comma + 1;
    }
  }
  return hops;
}

// The socket's own address may carry a zone id (fe80::1%eth0); the kernel put it there, so
// it is dropped rather than refused.
std::optional<IpAddress> ParsePeer(std::string_view peer) {
  return ParseIpAddress(peer.substr(0, peer.find('%')));
}

}  // namespace

std::string ClientAddress(std::string_view peer, const std::vector<std::string_view>& forwarded_for,
                          const std::vector<std::string>& trusted_proxies) {
  std::optional<IpAddress> client = ParsePeer(peer);
  if (!client) return std::string(peer);
  std::vector<IpAddress> trusted;
  for (const std::string& entry : trusted_proxies) {
    if (std::optional<IpAddress> proxy = ParseIpAddress(entry)) trusted.push_back(*proxy);
  }
  const auto is_trusted = [&](const IpAddress& address) {
    return std::find(trusted.begin(), trusted.end(), address) != trusted.end();
  };
  if (!is_trusted(*client)) return FormatIpAddress(*client);
  const std::vector<std::string_view> hops = Hops(forwarded_for);
  for (auto hop = hops.rbegin(); hop != hops.rend(); ++hop) {
    std::optional<IpAddress> address = ParseIpAddress(*hop);
    if (!address) break;
    client = address;
    if (!is_trusted(*client)) break;
  }
  return FormatIpAddress(*client);
}

std::string RateLimitKey(std::string_view address) {
  std::optional<IpAddress> parsed = ParseIpAddress(address);
  if (!parsed) return std::string(address);
  if (!parsed->v6) return FormatIpAddress(*parsed);
  std::fill(parsed->bytes.begin() + 8, parsed->bytes.end(), 0);
  return FormatIpAddress(*parsed) + "/64";
}

}  // namespace authgate
