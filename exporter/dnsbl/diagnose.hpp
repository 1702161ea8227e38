// `diagnose`'s DNSBL section, the checklist's last item: is this machine's egress IP on a block
// list? With [dnsbl] enabled in the config, finds the egress IPs (configured, or discovered once)
// and looks each up once in every zone, printing a line per lookup as it completes (in the
// report's columns, exporter/views/report.hpp), and the advice for a listing.
//
// Thread-safety: runs on the calling thread, which must be the only one running `io`.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>

#include "config/dnsbl.hpp"

namespace smtp_exporter::exporter {

struct dnsbl_diagnosis {
  boost::json::array lookups;  // one object per (IP, zone): docs/diagnose.md
  std::size_t listed = 0;
  std::size_t listed_blocking = 0;
  std::size_t errors = 0;        // lookups and discovery that failed
  std::size_t egress_ips = 0;
  std::vector<std::string> egress;  // the egress IPs checked (configured, then discovered)
};

// `text`: where to print the lines (nullptr for JSON output). Runs on `io` until done.
dnsbl_diagnosis diagnose_dnsbl(boost::asio::io_context& io, const config::dnsbl_settings& settings,
                               std::ostream* text);

// The section's line in the verdict: "egress IP LISTED: …", "not listed", ….
std::string dnsbl_verdict(const dnsbl_diagnosis& d);

}  // namespace smtp_exporter::exporter
