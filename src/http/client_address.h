// Which client a request comes from, for the per-address rate limit and the session's address
// (SPEC.md §6, §10.5 "Trusted proxies"). X-Forwarded-For is believed only as far as it was
// written by trusted proxies, and only while its hops are IP addresses; IPv6 clients share one
// rate-limit bucket per /64, the smallest network a single subscriber is usually given.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace authgate {

// The client's address in canonical text form. `peer` is the socket's address (a zone id is
// allowed there). When the peer is one of `trusted_proxies`, the X-Forwarded-For hops (all of
// `forwarded_for`'s values, in order) are walked from the right: each hop that is an IP address
// is believed, and the walk ends at the first hop that is not a trusted proxy. A hop that is not
// an IP address (a port, brackets, a zone id, junk) ends the walk without being believed: the
// client is then the last address believed, the peer or the nearest trusted hop. Empty hops
// (",,") are list syntax, not hops. `trusted_proxies` entries that are not addresses match nothing.
std::string ClientAddress(std::string_view peer, const std::vector<std::string_view>& forwarded_for,
                          const std::vector<std::string>& trusted_proxies);

// The rate-limit bucket of `address` (a ClientAddress): an IPv4 address itself, an IPv6 address
// its /64 prefix ("2001:db8:1:2::/64"); any other text is its own bucket.
std::string RateLimitKey(std::string_view address);

}  // namespace authgate
