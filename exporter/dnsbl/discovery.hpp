// From [dnsbl]'s config to the egress IPs to check: the configured ones, and the DNS question
// that discovers this machine's own.
//
// Thread-safety: pure functions.
#pragma once

#include <vector>

#include <boost/asio/ip/address.hpp>

#include "config/dnsbl.hpp"
#include "probes/dns/dnsbl.hpp"

namespace smtp_exporter::exporter {

// The configured egress_ips as addresses (the config validated them; any other is skipped).
std::vector<boost::asio::ip::address> configured_egress_ips(const config::dnsbl_settings& settings);
// What [dnsbl.discovery] asks: the method's preset (IPv6 with `ip6 = true`), with the config's
// name and server when set; custom: the config's name, server and record.
probes::egress_query discovery_query(const config::egress_discovery& discovery);

}  // namespace smtp_exporter::exporter
