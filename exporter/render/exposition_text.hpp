// The text exposition format (0.0.4) written straight into a std::string: byte for byte what
// prometheus-cpp 1.0's TextSerializer writes for the same MetricFamily (checked by
// tests/unit/exposition_text_test.cpp), without its per-token std::ostream calls and its
// snprintf("%.16g") per value, which were 77 % of a 10,000-target render (bench/README.md).
// The per-target families of a scrape are written series by series from the records, without
// MetricFamily objects (exporter/render/metrics.cpp), with the pieces below; the rest from MetricFamily.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <prometheus/metric_family.h>

namespace smtp_exporter::exporter {

// Appends `family` (HELP, TYPE and every series) to `out`. Counter, gauge and untyped families
// are written here; summaries and histograms go through prometheus-cpp's TextSerializer.
void append_exposition_text(std::string& out, const prometheus::MetricFamily& family);

// The pieces, as TextSerializer 1.0 writes them. The HELP line only when `help` is not empty;
// `type` is Counter, Gauge or Untyped.
void append_family_header(std::string& out, std::string_view name, std::string_view help,
                          prometheus::MetricType type);
// A label value, with backslash, double quote and line feed escaped.
void append_label_value(std::string& out, std::string_view value);
// A sample value: "Nan", "+Inf", "-Inf", else printf's "%.16g".
void append_value(std::string& out, double value);

}  // namespace smtp_exporter::exporter
