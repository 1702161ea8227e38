#include "exporter/landing_page.hpp"

namespace smtp_exporter::exporter {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string render_landing_page(std::string_view telemetry_path, std::size_t target_count) {
  std::string path = html_escape(telemetry_path);
  std::string page;
  page += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<title>smtp_exporter</title>"
          "<style>body{font-family:sans-serif;margin:2em;color:#222}a{color:#1a5fb4}</style>"
          "</head><body>\n<h1>smtp_exporter</h1>\n"
          "<p>Probes SMTP endpoints (banner, TLS, auth) on each target's own interval.</p>\n<p>";
  page += std::to_string(target_count);
  page += " targets configured.</p>\n<ul>\n<li><a href=\"" + path + "\">Metrics</a></li>\n"
          "<li><a href=\"/-/healthy\">Health</a></li>\n"
          "<li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n</body></html>\n";
  return page;
}

}  // namespace smtp_exporter::exporter
