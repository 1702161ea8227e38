// The DNSBL and egress-IP metric families (docs/metrics.md, "DNSBL series"), built at scrape
// time from the dnsbl_runner's published status.
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

#include "exporter/dnsbl/status.hpp"

namespace smtp_exporter::exporter {

// Empty when DNSBL checks are off: no family, not even HELP lines.
std::vector<prometheus::MetricFamily> dnsbl_families(const dnsbl_status& status);

}  // namespace smtp_exporter::exporter
