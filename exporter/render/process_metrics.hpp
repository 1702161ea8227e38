// The standard process_* metrics, read from /proc (prometheus-cpp has no process collector).
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

namespace smtp_exporter::exporter {

// process_cpu_seconds_total, process_open_fds, process_max_fds, process_virtual_memory_bytes,
// process_resident_memory_bytes, process_start_time_seconds. Families whose source cannot be
// read are left out rather than reported as zero.
std::vector<prometheus::MetricFamily> collect_process_metrics();

}  // namespace smtp_exporter::exporter
