// One DNSBL lookup and one egress discovery over c-ares (probes::dns_resolver::query), shared by
// the exporter's dnsbl_runner and `diagnose`. The verdicts are probes/dns/dnsbl.hpp's.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>

#include "probes/dns/resolver.hpp"
#include "probes/dns/dnsbl.hpp"

namespace smtp_exporter::probes {

struct dnsbl_lookup_result {
  dnsbl_verdict verdict;
  std::string txt;        // when listed: the TXT record(s), printable ASCII, at most ~300 bytes
  std::uint32_t ttl = 0;  // of the A answer; 0 when unknown (NXDOMAIN, errors)
  double seconds = 0;
};

// Asks `<reversed ip>.<zone_suffix>` A (and TXT when listed), each within `timeout`.
// `zone_suffix` is the zone, or "KEY.zone" with a Spamhaus DQS key: never put it in a message.
boost::asio::awaitable<dnsbl_lookup_result> lookup_dnsbl(dns_resolver& resolver,
                                                         boost::asio::ip::address ip,
                                                         std::string zone_suffix,
                                                         std::chrono::milliseconds timeout);

struct egress_discovery_result {
  std::vector<boost::asio::ip::address> addresses;  // empty on failure
  std::string error;   // discovery_error()'s reason when no address was found
  std::string detail;  // c-ares' text
  double seconds = 0;
};

boost::asio::awaitable<egress_discovery_result> discover_egress(dns_resolver& resolver,
                                                                std::string name,
                                                                dns_record_type type,
                                                                std::chrono::milliseconds timeout,
                                                                std::size_t max_addresses = 4);

}  // namespace smtp_exporter::probes
