// SPF (RFC 7208): check_host() for one IP and one sender domain, asked through a dns_lookup (the
// exporter's c-ares resolver, usually behind its cache). The record parser and the macros are
// pure (spf_record.hpp, spf_macro.hpp); this file is the evaluation: record lookup and
// selection, every mechanism, redirect, the processing limits, and the rule that a DNS error
// is temperror and never fail.
//
// Conformance: the openspf RFC 7208 suite (tests/conformance/spf/) runs through the real resolver
// against a scripted DNS server (tests/integration/spf_conformance_test.cpp), and a differential
// test holds the verdicts against Debian's pyspf on the same server.
//
// Choices where the RFC leaves room (each one accepted by the suite):
//  - exp= is syntax-checked and never fetched (no explanation is produced);
//  - a void lookup (NXDOMAIN, or NOERROR without records) is counted per term: the name an "a",
//    "exists", "include" or "redirect" asks, the MX query of "mx", the PTR query of "ptr"; the
//    address lookups of MX and PTR names are not counted (pyspf counts those as well: a record
//    whose MX names have no addresses can be permerror there and not here);
//  - a target name that no DNS query can carry (an empty label, a label over 63 characters, after
//    macro expansion) matches nothing and asks nothing; for include and redirect it is permerror;
//  - "ptr" and %{p} check the PTR names (the first 10) that end in the target before asking their
//    addresses, which gives the same verdicts with fewer queries.
//
// Thread-safety: a check runs on the dns_lookup's executor.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "probes/dns/dns_lookup.hpp"

namespace smtp_exporter::probes {

enum class spf_result { none, neutral, pass, fail, softfail, temperror, permerror };
inline constexpr std::size_t spf_result_count = 7;
std::string_view spf_result_name(spf_result r);  // "none", "neutral", "pass", ...

struct spf_outcome {
  spf_result result = spf_result::temperror;
  // Short, why: "ip4:192.0.2.0/24 matched", "more than 10 DNS lookups", "no SPF record", ...
  std::string detail;
  std::string mechanism;  // the top-level mechanism that matched ("include:_spf.example.com"), or ""
  int dns_lookups = 0;    // the terms RFC 7208 4.6.4 counts (include, a, mx, ptr, exists, redirect)
  int void_lookups = 0;
  int queries = 0;        // DNS queries asked through the dns_lookup (cache hits included)
};

// The 4.6.4 limits.
inline constexpr int spf_max_dns_lookups = 10;
inline constexpr int spf_max_void_lookups = 2;
inline constexpr int spf_max_names = 10;  // MX names looked up, PTR names checked

// check_host(ip, domain, sender) with `helo` for %{h}. `sender` is the MAIL FROM address;
// when empty, "postmaster@<domain>" (RFC 7208 2.4 for a HELO check, 4.3 for a null sender). A
// domain that is not a valid multi-label name gives none without a query. The whole evaluation
// ends by `timeout` (temperror).
boost::asio::awaitable<spf_outcome> check_spf(dns_lookup& dns, boost::asio::ip::address ip,
                                              std::string domain, std::string sender,
                                              std::string helo,
                                              std::chrono::milliseconds timeout);

// RFC 7208 4.3: the domain check_host() starts from must be a multi-label name of letters,
// digits, '-' and '_' labels (1 to 63 characters, 253 in all); a trailing dot is allowed.
bool is_valid_spf_domain(std::string_view domain);

}  // namespace smtp_exporter::probes
