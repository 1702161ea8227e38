// The status page's "Sender readiness" section (beside DNSBL): each egress IP's reverse DNS, SPF
// per (domain, IP), each domain's DMARC, what the providers require where a verdict is not the
// good one, and "unknown" for errors. Every value is escaped.
//
// Thread-safety: a pure function of the status.
#pragma once

#include <string>

#include "exporter/sender/status.hpp"

namespace smtp_exporter::exporter {

std::string render_sender_section(const sender_status& status);

}  // namespace smtp_exporter::exporter
