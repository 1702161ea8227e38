// The DNS names of an IP address: the reversed labels under in-addr.arpa / ip6.arpa (PTR lookups,
// DNSBL zones) and the dotted forward form SPF's %{i} macro expands to. One home for the octet
// and nibble arithmetic that DNSBL, SPF and reverse DNS share.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace smtp_exporter::probes {

// An IPv4-mapped IPv6 address (::ffff:192.0.2.1) as the IPv4 address it carries; any other
// address unchanged. Mail checks treat a mapped address as IPv4 (RFC 7208 section 5).
boost::asio::ip::address unmapped(const boost::asio::ip::address& ip);

// "4.3.2.1" for 1.2.3.4; 32 nibbles, lowest first, for IPv6 ("1.0.0. ... .8.b.d.0.1.0.0.2").
// IPv4-mapped addresses as IPv4.
std::string reversed_address_labels(const boost::asio::ip::address& ip);

// "1.2.3.4"; 32 nibbles, highest first, for IPv6 ("2.0.0.1.0.d.b.8. ... .1"), lower case.
std::string dotted_address_labels(const boost::asio::ip::address& ip);

// The PTR name: "4.3.2.1.in-addr.arpa", or the nibble form under "ip6.arpa" (RFC 3596 2.5).
std::string reverse_dns_name(const boost::asio::ip::address& ip);

}  // namespace smtp_exporter::probes
