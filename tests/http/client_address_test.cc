// ClientAddress / RateLimitKey (src/http/client_address.h): which bucket a request is counted in.
#include "http/client_address.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace authgate {
namespace {

const std::vector<std::string> kProxies = {"10.0.0.1", "10.0.0.2", "2001:db8::1"};

std::string Client(std::string_view peer, std::vector<std::string_view> forwarded_for) {
  return ClientAddress(peer, forwarded_for, kProxies);
}

TEST(ClientAddress, AnUntrustedPeerIsTheClientWhateverItForwards) {
  EXPECT_EQ(Client("198.51.100.7", {"203.0.113.1"}), "198.51.100.7");
  EXPECT_EQ(Client("198.51.100.7", {}), "198.51.100.7");
}

TEST(ClientAddress, WalksFromTheRightToTheFirstUntrustedHop) {
  EXPECT_EQ(Client("10.0.0.1", {"203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(Client("10.0.0.1", {"1.1.1.1, 203.0.113.9, 10.0.0.2"}), "203.0.113.9");
  EXPECT_EQ(Client("10.0.0.1", {"1.1.1.1", "203.0.113.9"}), "203.0.113.9");  // two header lines
  EXPECT_EQ(Client("10.0.0.1", {"10.0.0.2"}), "10.0.0.2");  // every hop trusted: the leftmost
  EXPECT_EQ(Client("10.0.0.1", {}), "10.0.0.1");
}

TEST(ClientAddress, AHopThatIsNotAnAddressIsNotBelieved) {
  for (std::string_view junk :
       {"junk", "1.2.3.4:5555", "[2001:db8::5]", "[2001:db8::5]:443", "fe80::1%eth0", "unknown",
        "1.2.3.4 5.6.7.8", "01.2.3.4", "1.2.3", "2001:db8::5/64", "_hidden", "1.2.3.4\x1b"}) {
    // Rightmost junk: the peer is the client, whatever stands to its left.
    EXPECT_EQ(Client("10.0.0.1", {std::string("203.0.113.9, ") + std::string(junk)}), "10.0.0.1")
        << junk;
    // Junk behind a trusted hop: the walk stops at the last address it believed.
    EXPECT_EQ(Client("10.0.0.1", {std::string(junk) + ", 10.0.0.2"}), "10.0.0.2") << junk;
  }
}

TEST(ClientAddress, SpacesAndEmptyElementsAreListSyntax) {
  EXPECT_EQ(Client("10.0.0.1", {"  203.0.113.9\t"}), "203.0.113.9");
  EXPECT_EQ(Client("10.0.0.1", {"203.0.113.9,, ,"}), "203.0.113.9");
  EXPECT_EQ(Client("10.0.0.1", {""}), "10.0.0.1");
  EXPECT_EQ(Client("10.0.0.1", {",,,"}), "10.0.0.1");
}

TEST(ClientAddress, AddressesAreComparedAndReturnedInCanonicalForm) {
  EXPECT_EQ(Client("::ffff:10.0.0.1", {"203.0.113.9"}), "203.0.113.9");  // mapped peer is trusted
  EXPECT_EQ(Client("2001:DB8:0::1", {"::FFFF:203.0.113.9"}), "203.0.113.9");
  EXPECT_EQ(Client("10.0.0.1", {"2001:DB8:0:0:1::5"}), "2001:db8::1:0:0:5");
  EXPECT_EQ(Client("2001:0db8::0001", {}), "2001:db8::1");
}

TEST(ClientAddress, APeerWithAZoneIdIsItsAddress) {
  EXPECT_EQ(Client("fe80::1%eth0", {"203.0.113.9"}), "fe80::1");
  EXPECT_EQ(Client("", {"203.0.113.9"}), "");  // no peer address known: nothing to believe
}

TEST(ClientAddress, EntriesThatAreNotAddressesTrustNothing) {
  EXPECT_EQ(ClientAddress("10.0.0.1", {"203.0.113.9"}, {"10.0.0.1:80", "*"}), "10.0.0.1");
}

TEST(RateLimitKey, IPv4IsPerAddressIPv6PerSlash64) {
  EXPECT_EQ(RateLimitKey("203.0.113.9"), "203.0.113.9");
  EXPECT_EQ(RateLimitKey("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(RateLimitKey("2001:db8:1:2::1"), RateLimitKey("2001:db8:1:2:ffff::7"));
  EXPECT_NE(RateLimitKey("2001:db8:1:2::1"), RateLimitKey("2001:db8:1:3::1"));
  EXPECT_EQ(RateLimitKey("::1"), "::/64");
  EXPECT_EQ(RateLimitKey(""), "");
}

TEST(RateLimitKey, RotatingAddressesBehindAProxyShareOneBucket) {
  std::vector<std::string> keys;
  for (std::string_view hop :
       {"2001:db8:5:6::1", "2001:db8:5:6:1::", "2001:DB8:5:6:ffff:ffff:ffff:ffff"}) {
    keys.push_back(RateLimitKey(Client("10.0.0.1", {hop})));
  }
  EXPECT_EQ(keys, std::vector<std::string>(3, "2001:db8:5:6::/64"));
  EXPECT_EQ(RateLimitKey(Client("10.0.0.1", {"::ffff:198.51.100.7"})), "198.51.100.7");
}

}  // namespace
}  // namespace authgate
