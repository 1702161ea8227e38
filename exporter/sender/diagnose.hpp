// `diagnose`'s "sender readiness" section: with [sender] enabled in the config, each egress IP's
// reverse DNS, SPF of each egress IP for each sender domain and each domain's DMARC, once,
// sequentially, a line per verdict as it completes and what the provider requires, in words.
// The egress IPs are [sender] egress_ips and those the DNSBL section found (it runs first).
//
// Thread-safety: runs on the calling thread, which must be the only one running `io`.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "exporter/schedule/check_runner.hpp"
#include "exporter/sender/runner.hpp"

namespace smtp_exporter::exporter {

check_diagnosis diagnose_sender(boost::asio::io_context& io, const sender_plan& plan,
                                const std::vector<std::string>& egress_ips, std::ostream* text);

}  // namespace smtp_exporter::exporter
