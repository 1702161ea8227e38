#include "exporter/dnsbl/page.hpp"

#include <algorithm>
#include <map>

#include "exporter/dnsbl/text.hpp"
#include "exporter/runtime/clock.hpp"
#include "exporter/views/status_page.hpp"

namespace smtp_exporter::exporter {

namespace {

// Listings first, then errors, then clean results.
int rank(const dnsbl_check& c) {
  if (c.listed) return 0;
  return probes::is_error(c.result) ? 1 : 2;
}

// Only web links become links: a config value never turns into a javascript: or data: URL.
std::string link(const std::string& url) {
  if (!url.starts_with("https://") && !url.starts_with("http://")) return html_escape(url);
  return "<a href=\"" + html_escape(url) + "\">" + html_escape(url) + "</a>";
}

}  // namespace

std::string render_dnsbl_section(const dnsbl_status& s, std::size_t max_rows) {
  if (!s.enabled) return {};
  std::string out = "<h2 id=\"dnsbl\">DNSBL</h2>\n<p class=\"summary\">Egress IPs: ";
  if (s.egress.empty()) out += "<span class=\"bad\">none known</span>";
  for (std::size_t i = 0; i < s.egress.size(); ++i) {
    if (i > 0) out += ", ";
    out += "<strong>" + html_escape(s.egress[i].ip) + "</strong> <span class=\"muted\">(" +
           html_escape(s.egress[i].source) + ")</span>";
  }
  out += ".";
  if (!s.discovery_method.empty()) {
    out += " Discovery (" + html_escape(s.discovery_method) + "): ";
    if (!s.discovery_has_result) {
      out += "<span class=\"muted\">not run yet</span>";
    } else if (s.discovery_ok) {
      out += "ok";
    } else {
      out += "<span class=\"reason\">" + html_escape(s.discovery_error) + "</span> <span "
             "class=\"detail\">" + html_escape(s.discovery_detail) + "</span>; the last addresses "
             "found are still checked";
    }
    out += ".";
    if (s.egress_last_change_timestamp > 0) {
      out += " <span class=\"warn\">Egress IP changed " + utc_text(s.egress_last_change_timestamp) +
             ".</span>";
    }
  }
  out += " Lookups run on each zone's interval; this page never runs one.</p>\n";

  std::vector<const dnsbl_check*> rows;
  rows.reserve(s.checks.size());
  for (const auto& c : s.checks) rows.push_back(&c);
  std::stable_sort(rows.begin(), rows.end(),
                   [](const dnsbl_check* a, const dnsbl_check* b) { return rank(*a) < rank(*b); });
  const std::size_t listed = std::count_if(rows.begin(), rows.end(),
                                           [](const dnsbl_check* c) { return c->listed; });
  const std::size_t errors = std::count_if(rows.begin(), rows.end(), [](const dnsbl_check* c) {
    return probes::is_error(c->result);
  });
  out += "<p>" + std::to_string(rows.size()) + " lookups: <strong>" + std::to_string(listed) +
         " listed</strong>, " + std::to_string(errors) +
         " failing (an error is never read as listed or as not listed).</p>\n";
  if (rows.empty()) return out;

  std::map<std::string, const dnsbl_zone_status*> zones;
  for (const auto& z : s.zones) zones[z.name] = &z;
  out += "<table>\n<thead><tr><th>state</th><th>ip</th><th>target</th><th>zone</th><th>result</th>"
         "<th>code</th><th>TXT / detail</th><th>last lookup</th><th>delisting</th></tr></thead>"
         "\n<tbody>\n";
  const std::size_t shown = std::min(rows.size(), max_rows);
  for (std::size_t i = 0; i < shown; ++i) {
    const dnsbl_check& c = *rows[i];
    const auto zone = zones.find(c.zone);
    const bool blocking = zone != zones.end() && zone->second->blocking;
    const char* row_class = c.listed ? "failing" : probes::is_error(c.result) ? "pending" : "ok";
    out += std::string("<tr class=\"") + row_class + "\"><td class=\"state\">" +
           (c.listed ? (blocking ? "LISTED (blocking)" : "LISTED")
                     : probes::is_error(c.result) ? "unknown" : "ok") +
           "</td>";
    out += "<td class=\"addr\">" + html_escape(c.ip) + "</td><td>" +
           (c.target.empty() ? std::string("<span class=\"muted\">egress</span>")
                             : html_escape(c.target)) +
           "</td><td>" + html_escape(c.zone) + "</td>";
    out += "<td><span class=\"" + std::string(probes::is_error(c.result) ? "reason" : "") + "\">" +
           html_escape(probes::to_string(c.result)) + "</span></td><td>";
    out += return_codes_text(c.return_codes);
    out += "</td><td class=\"detail\">" + html_escape(c.txt.empty() ? c.detail : c.txt) + "</td>";
    out += "<td>" + (c.last_lookup_timestamp > 0 ? utc_text(c.last_lookup_timestamp) : "") +
           "</td><td>";
    if (c.listed && zone != zones.end()) out += link(zone->second->delist_url);
    out += "</td></tr>\n";
  }
  out += "</tbody></table>\n";
  if (shown < rows.size()) {
    out += "<p class=\"hidden-note\">" + std::to_string(rows.size() - shown) +
           " more lookups not shown; every one is in the metrics (smtp_dnsbl_*).</p>\n";
  }
  return out;
}

}  // namespace smtp_exporter::exporter
