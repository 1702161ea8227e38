// The HTML page served at "/".
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace smtp_exporter::exporter {

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view text);

std::string render_landing_page(std::string_view telemetry_path, std::size_t target_count);

}  // namespace smtp_exporter::exporter
