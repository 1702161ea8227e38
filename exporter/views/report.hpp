// The columns of `smtp_exporter diagnose`'s text output, shared by the session steps
// (exporter/cli) and each check kind's diagnose section (exporter/dnsbl/diagnose.cpp), so every
// line of the report lines up however deep its writer sits.
//
// Thread-safety: pure functions over the given stream.
#pragma once

#include <ostream>
#include <string_view>

namespace smtp_exporter::exporter {

// One step in diagnose's columns: status, label, duration (may be empty), then the text; flushed,
// so a step shows as it completes, even through a pipe.
void print_line(std::ostream& out, std::string_view status, std::string_view label,
                std::string_view duration, std::string_view text);
// print_line with the duration in seconds ("0.012s"); no duration when `seconds` < 0.
void print_line(std::ostream& out, std::string_view status, std::string_view label,
                double seconds, std::string_view text);

}  // namespace smtp_exporter::exporter
