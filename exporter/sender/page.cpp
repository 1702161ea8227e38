#include "exporter/sender/page.hpp"

#include "exporter/runtime/clock.hpp"
#include "exporter/sender/evaluate.hpp"
#include "exporter/views/status_page.hpp"

namespace smtp_exporter::exporter {

namespace {

// The row's class and state cell: ok, failing (a verdict against the sender), unknown (error).
struct row_state {
  const char* row_class;
  const char* state;
};

row_state state_of(bool good, bool error) {
  if (error) return {"pending", "unknown"};
  return good ? row_state{"ok", "ok"} : row_state{"failing", "FAIL"};
}

std::string row(const row_state& st, std::initializer_list<std::string> cells,
                const std::string& advice) {
  std::string out = std::string("<tr class=\"") + st.row_class + "\"><td class=\"state\">" +
                    st.state + "</td>";
  for (const auto& c : cells) out += "<td>" + html_escape(c) + "</td>";
  out += "<td class=\"detail\">" + html_escape(advice) + "</td></tr>\n";
  return out;
}

}  // namespace

std::string render_sender_section(const sender_status& s) {
  if (!s.enabled) return {};
  std::string out =
      "<h2 id=\"sender\">Sender readiness</h2>\n<p class=\"summary\">Will the providers take mail "
      "from this IP and these domains? Egress IPs: ";
  if (s.egress_ips.empty()) {
    out += "<span class=\"bad\">none known</span> (set [sender] egress_ips, or [dnsbl] egress_ips "
           "or discovery)";
  }
  for (std::size_t i = 0; i < s.egress_ips.size(); ++i) {
    out += (i > 0 ? ", " : "") + std::string("<strong>") + html_escape(s.egress_ips[i]) +
           "</strong>";
  }
  out += ". Sender domains: ";
  if (s.domains.empty()) {
    out += "<span class=\"bad\">none</span> (set [sender] domains, or give targets a mail_from)";
  }
  for (std::size_t i = 0; i < s.domains.size(); ++i) {
    out += (i > 0 ? ", " : "") + std::string("<strong>") + html_escape(s.domains[i]) + "</strong>";
  }
  out += ". Checks run on [sender] interval; this page never runs one; an error is never read as "
         "a verdict.</p>\n";
  if (!s.setup_error.empty()) {
    out += "<p class=\"bad\">" + html_escape(s.setup_error) + "</p>\n";
  }
  if (s.reverse_dns.empty() && s.spf.empty() && s.dmarc.empty()) {
    out += "<p class=\"muted\">No result yet.</p>\n";
    return out;
  }
  out += "<table>\n<thead><tr><th>state</th><th>check</th><th>subject</th><th>result</th>"
         "<th>detail</th><th>last check</th><th>what the providers require</th></tr></thead>\n"
         "<tbody>\n";
  for (const auto& e : s.reverse_dns) {
    const bool error = is_sender_error(sender_check::reverse_dns, e.result);
    out += row(state_of(e.result == "match", error),
               {"reverse DNS", e.ip, e.result + (e.name.empty() ? "" : " (" + e.name + ")"),
                e.detail, e.timestamp > 0 ? utc_text(e.timestamp) : ""},
               reverse_dns_advice(e));
  }
  for (const auto& e : s.spf) {
    const bool error = is_sender_error(sender_check::spf, e.result);
    out += row(state_of(e.result == "pass", error),
               {"SPF", e.domain + " from " + e.ip, e.result,
                e.detail + " (" + std::to_string(e.dns_lookups) + " of 10 DNS lookups)",
                e.timestamp > 0 ? utc_text(e.timestamp) : ""},
               spf_advice(e));
  }
  for (const auto& e : s.dmarc) {
    const bool error = is_sender_error(sender_check::dmarc, e.result);
    std::string result = e.result;
    if (e.result == "present") {
      result += ": p=" + e.policy + (e.subdomain_policy.empty() ? "" : " sp=" + e.subdomain_policy) +
                " pct=" + std::to_string(e.pct) + (e.rua ? " rua" : " (no rua)");
    }
    out += row(state_of(e.result == "present", error),
               {"DMARC", e.domain, result,
                e.detail + (e.from_organizational_domain ? " (organisational domain)" : ""),
                e.timestamp > 0 ? utc_text(e.timestamp) : ""},
               dmarc_advice(e));
  }
  out += "</tbody></table>\n";
  return out;
}

}  // namespace smtp_exporter::exporter
