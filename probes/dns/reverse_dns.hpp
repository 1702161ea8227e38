// Forward-confirmed reverse DNS of an egress IP (FCrDNS): the PTR names of the IP, then the
// A (IPv4) or AAAA (IPv6) records of each name; the IP is confirmed when one name maps back to
// it. Gmail and Outlook refuse mail from IPs without it ("550 5.7.25 ... does not have a PTR
// record"), and junk mail from names that look dynamic.
//
// Thread-safety: check_reverse_dns runs on the dns_lookup's executor; looks_generic is pure.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "probes/dns/dns_lookup.hpp"

namespace smtp_exporter::probes {

enum class reverse_dns_result { match, no_ptr, mismatch, generic, error };
inline constexpr std::size_t reverse_dns_result_count = 5;
std::string_view reverse_dns_result_name(reverse_dns_result r);  // "match", "no_ptr", ...

struct reverse_dns_outcome {
  reverse_dns_result result = reverse_dns_result::error;
  // The confirming PTR name (match, generic), else the first PTR name (mismatch), or "".
  std::string name;
  // When result is error: the error class (dns_error_class: "timeout", "servfail", "refused",
  // "unreachable", "dns_error").
  std::string error;
  std::string detail;  // short, why: "PTR mail.example.com maps back", "no PTR record", ...
  int queries = 0;     // DNS queries asked through the dns_lookup
};

// How many PTR names are checked (the rest are ignored, as RFC 7208 5.5 does for "ptr").
inline constexpr int reverse_dns_max_names = 10;

// PTR of `ip`; then A/AAAA of each PTR name in answer order until one maps back to `ip`.
//   match:    a name maps back and does not look generic (looks_generic);
//   generic:  the name that maps back looks generic;
//   mismatch: PTR names, none maps back (and none of their lookups failed);
//   no_ptr:   NXDOMAIN or NODATA for the PTR;
//   error:    the PTR lookup failed, or no name maps back and a forward lookup failed: an error is
//             never read as no_ptr or mismatch.
// IPv4-mapped IPv6 addresses are checked as IPv4. Ends by `timeout`.
boost::asio::awaitable<reverse_dns_outcome> check_reverse_dns(dns_lookup& dns,
                                                              boost::asio::ip::address ip,
                                                              std::chrono::milliseconds timeout);

// Whether a PTR name looks like an ISP's name for a dynamic or residential address, which mail
// providers score like no reverse DNS. Conservative on purpose: a dedicated mail host's name must
// never be called generic. True when any of these holds (case-insensitive):
//  1. IPv4: the name holds the address's four octets as four consecutive digit runs, in order or
//     reversed, separated by single '.', '-' or '_' (leading zeros allowed: "203-0-113-7",
//     "7.113.0.203", "ip-203-000-113-007"), or as one 12-digit run of zero-padded octets
//     ("203000113007");
//  2. the first label holds the address in hex: 8 digits for IPv4 ("cb007107"), all 32 nibbles
//     for IPv6;
//  3. a label left of the last two, split at '-' and '_', has a token that ISPs use for
//     dynamic pools: dynamic, dyn, dhcp, pool, dialup, dial, ppp, pppoe, dsl, adsl, vdsl, xdsl,
//     cable, broadband, residential, cpe. (The last two labels are left out: "dyn.com"
//     is a company, "pool.example" a domain.)
bool looks_generic(std::string_view ptr_name, const boost::asio::ip::address& ip);

}  // namespace smtp_exporter::probes
