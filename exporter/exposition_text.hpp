// The text exposition format (0.0.4) written straight into a std::string: byte for byte what
// prometheus-cpp 1.0's TextSerializer writes for the same MetricFamily (checked by
// tests/unit/exposition_text_test.cpp), without its per-token std::ostream calls and its
// snprintf("%.16g") per value, which were 77 % of a 10,000-target render (bench/README.md).
// The families themselves are still prometheus-cpp's, built by exporter/metrics.cpp.
//
// Thread-safety: a pure function.
#pragma once

#include <string>

#include <prometheus/metric_family.h>

namespace smtp_exporter::exporter {

// Appends `family` (HELP, TYPE and every series) to `out`. Counter, gauge and untyped families
// are written here; summaries and histograms go through prometheus-cpp's TextSerializer.
void append_exposition_text(std::string& out, const prometheus::MetricFamily& family);

}  // namespace smtp_exporter::exporter
