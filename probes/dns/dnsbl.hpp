// DNSBL lookups (RFC 5782) as pure functions: the name to ask for an address in a zone, and the
// verdict on the answer. Every answer class maps to exactly one result here, table-tested in
// tests/unit/dnsbl_test.cpp, so "where is a listing decided?" has a one-file answer.
//
// The rule that matters: an answer is trusted as a listing only when it is an A record in
// 127.0.0.0/8 other than 127.0.0.1 and the 127.255.255.0/24 error codes. Spamhaus answers
// 127.255.255.254 to queries through public resolvers, and resolvers that rewrite NXDOMAIN
// (ISPs, Pi-hole, captive portals) answer with their own address; other tools count both as
// listings and page people for nothing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

#include "probes/dns/resolver.hpp"

namespace smtp_exporter::probes {

// The outcome of one lookup of one IP in one zone; each has one documented string
// (docs/metrics.md), used as the `result` and `reason` label values.
enum class dnsbl_result : std::uint8_t {
  listed,            // an A answer in 127.0.0.0/8 that is a listing code
  not_listed,        // NXDOMAIN (or NOERROR without an A record)
  zone_typo,         // 127.255.255.252: Spamhaus "typing error in DNSBL name"
  resolver_refused,  // 127.255.255.254: Spamhaus refuses queries through public/open resolvers
  rate_limited,      // 127.255.255.255: Spamhaus "excessive number of queries"
  invalid_answer,    // 127.0.0.1 or another 127.255.255.0/24 code: an error, never a listing
  answer_rewritten,  // an answer outside 127.0.0.0/8: the resolver rewrites answers
  servfail,          // SERVFAIL
  refused,           // REFUSED
  timeout,           // no answer before the zone's timeout
  unreachable,       // the resolver's port is closed
  dns_error,         // FORMERR, a malformed answer, any other failure
};
inline constexpr std::size_t dnsbl_result_count = 12;
std::string_view to_string(dnsbl_result r);
// Only `listed` and `not_listed` are answers; every other result is an error.
constexpr bool is_error(dnsbl_result r) {
  return r != dnsbl_result::listed && r != dnsbl_result::not_listed;
}

struct dnsbl_verdict {
  dnsbl_result result = dnsbl_result::dns_error;
  // When listed: the listing codes' last octets, ascending (ZEN may give several, e.g. 2 and 4).
  std::vector<int> return_codes;
  // The answer that decided an error, e.g. "127.255.255.254" or "192.0.2.1"; for logs and pages.
  std::string detail;
};

// The verdict on the A answer to "<reversed ip>.<zone>".
dnsbl_verdict classify_dnsbl_answer(const dns_answer& answer);

// How long a lookup's result is kept before the IP is asked again: an answer (listed, not listed)
// for the zone's interval, or for its TTL when that is longer, but never longer than
// max_answer_ttl unless the interval is; an error for the interval, at most error_retry, whatever
// its TTL (a rewritten or refused answer can carry a TTL of days).
inline constexpr std::chrono::seconds max_answer_ttl{3600};
inline constexpr std::chrono::seconds error_retry{300};
std::chrono::milliseconds dnsbl_keep_for(dnsbl_result result, std::uint32_t ttl_seconds,
                                         std::chrono::milliseconds interval);

// "7.113.0.203.zen.spamhaus.org" for 203.0.113.7; IPv6 in nibble format, 32 labels (RFC 5782
// section 2.4). `zone` may carry a prefix such as a Spamhaus DQS key ("KEY.zen.dq.spamhaus.net").
std::string dnsbl_query_name(const boost::asio::ip::address& ip, std::string_view zone);

// Egress address discovery: which name, server and record type a method asks.
enum class egress_method : std::uint8_t { opendns, google, custom };
struct egress_query {
  std::string name;
  std::string server;  // "IP" or "IP:port"
  dns_record_type type = dns_record_type::a;
};
// The well-known query of `opendns` (myip.opendns.com A at resolver1.opendns.com; with `ipv6`,
// AAAA at its IPv6 address, the only way it answers AAAA) or `google` (o-o.myaddr.l.google.com
// TXT at ns1.google.com, over IPv6 with `ipv6`); nullopt for custom.
std::optional<egress_query> egress_preset(egress_method method, bool ipv6 = false);
std::string_view to_string(egress_method m);
std::optional<egress_method> parse_egress_method(std::string_view text);

// The addresses an egress discovery answer names: A/AAAA records, or TXT strings that are IP
// literals (Google adds an "edns0-client-subnet ..." string, which is skipped). Unspecified and
// multicast addresses are dropped: no mail leaves from them.
std::vector<boost::asio::ip::address> egress_addresses(const dns_answer& answer);

// Maps a failed discovery (or a lookup's DNS failure) to the same error names as lookups:
// servfail, refused, timeout, unreachable, dns_error; nxdomain and nodata map to "not_found", an
// answer without a usable address to "no_address".
std::string_view discovery_error(const dns_answer& answer);

}  // namespace smtp_exporter::probes
