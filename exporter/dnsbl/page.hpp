// The DNSBL section of the status page: the egress IPs, the discovery, and every (IP, zone)
// result with the listing's TXT record and the zone's delisting link. HTML-escaped here.
#pragma once

#include <cstddef>
#include <string>

#include "exporter/dnsbl/status.hpp"

namespace smtp_exporter::exporter {

// Empty when DNSBL checks are off. `max_rows` bounds the table (listings and errors first).
std::string render_dnsbl_section(const dnsbl_status& status, std::size_t max_rows = 200);

}  // namespace smtp_exporter::exporter
