// The sender-readiness metric families (docs/metrics.md, "Sender readiness"), built at scrape
// time from the published status. Nothing when [sender] is off.
//
// Thread-safety: a pure function of the status.
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

#include "exporter/sender/status.hpp"

namespace smtp_exporter::exporter {

std::vector<prometheus::MetricFamily> sender_families(const sender_status& status);

}  // namespace smtp_exporter::exporter
