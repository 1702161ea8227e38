#include "exporter/runtime/clock.hpp"
#include "exporter/views/status_page.hpp"
#include "common/text_escape.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>

#include "config/presets.hpp"
#include "exporter/views/advice.hpp"
#include "exporter/views/display.hpp"
#include "probes/smtp/stages.hpp"

namespace smtp_exporter::exporter {

namespace {

using probes::failure_reason;
using probes::probe_kind;

constexpr std::size_t max_cell_text = 160;

enum class row_state { failing, pending, ok };

row_state state_of(const target_status& t) {
  bool any_result = false;
  for (const auto& p : t.probes) {
    if (!p.has_result) continue;
    any_result = true;
    if (p.reason != failure_reason::none) return row_state::failing;
  }
  return any_result ? row_state::ok : row_state::pending;
}

std::string truncated(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  return std::string(text.substr(0, max)) + "…";
}

std::string age_text(double then, double now) {
  double s = std::max(0.0, now - then);
  char buf[32];
  if (s < 120) {
    std::snprintf(buf, sizeof buf, "%.0f s ago", s);
  } else if (s < 7200) {
    std::snprintf(buf, sizeof buf, "%.0f min ago", s / 60);
  } else if (s < 172800) {
    std::snprintf(buf, sizeof buf, "%.0f h ago", s / 3600);
  } else {
    std::snprintf(buf, sizeof buf, "%.0f days ago", s / 86400);
  }
  return buf;
}

// A command line a person can paste: the name in single quotes.
std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out.push_back(c);
    }
  }
  return out + "'";
}

constexpr std::string_view style =
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#1d1d1d;background:#fff}"
    "a{color:#1a5fb4}h1{font-size:1.4em;margin:0 0 .3em}h2{font-size:1.1em;margin:1.4em 0 .4em}"
    ".summary{margin:.3em 0 1em}.nav a{margin-right:1em}"
    "table{border-collapse:collapse;font-size:.9em}"
    "th,td{border:1px solid #d0d0d0;padding:.3em .5em;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0}td.num,td.addr{white-space:nowrap}td.num{text-align:right}"
    "tr.failing td{background:#fde8e7}tr.failing td.state{background:#c01c28;color:#fff;"
    "font-weight:bold}tr.ok td.state{color:#26a269;font-weight:bold}"
    "tr.pending td.state,.muted{color:#777}.reason{color:#a51d2d;font-weight:bold}"
    ".warn{color:#9c6500;font-weight:bold}.bad{color:#a51d2d;font-weight:bold}"
    ".detail{font-family:monospace;font-size:.95em;word-break:break-all}"
    "pre{background:#f6f6f6;border:1px solid #d0d0d0;padding:.6em;overflow-x:auto}"
    ".hidden-note{margin-top:.6em;font-weight:bold}"
    ".family{font-size:.85em;border:1px solid #999;border-radius:3px;padding:0 .25em}";

void page_start(std::string& page, std::string_view title, bool refresh) {
  page += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  if (refresh) page += "<meta http-equiv=\"refresh\" content=\"30\">";
  page += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";
  page += html_escape(title);
  page += "</title><style>";
  page += style;
  page += "</style></head><body>\n";
}

void probe_cell(std::string& page, const target_status& t, std::size_t i) {
  if (!t.config->probes[i]) {
    page += "<td class=\"muted\">—</td>";
    return;
  }
  const auto& p = t.probes[i];
  if (!p.has_result) {
    page += "<td class=\"muted\">pending</td>";
    return;
  }
  if (p.reason == failure_reason::none) {
    page += "<td>success</td>";
    return;
  }
  page += "<td><span class=\"reason\" title=\"";
  page += html_escape(headline(p.reason));
  page += "\">";
  page += html_escape(probes::to_string(p.reason));
  page += "</span>";
  if (p.reply_code != 0) page += " (" + std::to_string(p.reply_code) + ")";
  if (p.policy_rejected) page += " <span class=\"bad\" title=\"refused by policy\">policy</span>";
  page += "</td>";
}

void certificate_cell(std::string& page, const target_status& t, double now) {
  if (!t.tls_seen || t.tls->chain.empty()) {
    page += "<td class=\"muted\">—</td>";
    return;
  }
  long leaf = days_left(t.tls->chain.front().not_after, now);
  long chain = days_left(t.tls->earliest_not_after(), now);
  auto days = [](long d) {
    const auto e = display::expiry_of(d);
    std::string cls = e == display::expiry::expired ? "bad" : e == display::expiry::soon ? "warn" : "";
    std::string text = d < 0 ? "expired" : std::to_string(d) + " d";
    return cls.empty() ? text : "<span class=\"" + cls + "\">" + text + "</span>";
  };
  page += "<td class=\"num\" title=\"leaf expires " + utc_text(t.tls->chain.front().not_after) +
          "\">" + days(leaf);
  if (chain < leaf) page += " (chain " + days(chain) + ")";
  page += "</td>";
}

void target_row(std::string& page, const target_status& t, double now) {
  const auto& c = *t.config;
  auto state = state_of(t);
  page += state == row_state::failing   ? "<tr class=\"failing\"><td class=\"state\">FAIL</td>"
          : state == row_state::pending ? "<tr class=\"pending\"><td class=\"state\">pending</td>"
                                        : "<tr class=\"ok\"><td class=\"state\">ok</td>";
  // One row per family of a target with ip_protocol = "both", each linking its own page.
  const std::string_view family = config::to_string(c.family);
  const std::string family_query =
      family.empty() ? std::string() : "&ip_family=" + std::string(family);
  page += "<td><a href=\"/probe/debug?target=" + html_escape(url_encode(c.name) + family_query) +
          "\">" + html_escape(c.name) + "</a>";
  if (!family.empty()) page += " <span class=\"family\">" + std::string(family) + "</span>";
  if (!c.provider.empty()) {
    page += " <span class=\"muted\">(" + html_escape(c.provider) + ")</span>";
  }
  page += "</td><td class=\"addr\">" + html_escape(config::host_port(c.host, c.port)) +
          " <span class=\"muted\">" + std::string(display::tls_mode(c.tls)) + "</span></td>";
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) probe_cell(page, t, i);
  if (t.last_duration_seconds >= 0) {
    page += "<td class=\"num\">" + display::seconds(t.last_duration_seconds) + "</td>";
  } else {
    page += "<td class=\"muted\">—</td>";
  }
  certificate_cell(page, t, now);
  if (t.last_run_timestamp > 0) {
    page += "<td class=\"num\" title=\"" + utc_text(t.last_run_timestamp) + "\">" +
            age_text(t.last_run_timestamp, now) + "</td>";
  } else {
    page += "<td class=\"muted\">never</td>";
  }
  // What went wrong, in the session's words; for a healthy target, what the server greets with.
  const std::string& text = state == row_state::failing ? t.detail : t.greeting;
  page += "<td class=\"detail\">" + html_escape(truncated(text, max_cell_text)) + "</td></tr>\n";
}

}  // namespace


namespace {

// The page over pointers, so the scrape-time records are read where they are, never copied.
std::string render_rows(std::vector<const target_status*> targets,
                        const status_page_options& options, std::string_view extra_sections) {
  std::size_t failing = 0, pending = 0;
  for (const target_status* t : targets) {
    auto s = state_of(*t);
    failing += s == row_state::failing;
    pending += s == row_state::pending;
  }
  // Failing first, each group in name order (the snapshot's order), then cut: the rows that
  // matter survive the cap.
  std::stable_partition(targets.begin(), targets.end(), [](const target_status* t) {
    return state_of(*t) == row_state::failing;
  });
  const std::size_t shown = std::min(targets.size(), options.max_rows);

  std::string page;
  page.reserve(4096 + shown * 900);
  page_start(page, "smtp_exporter", true);
  page += "<h1>smtp_exporter</h1>\n<p class=\"nav\"><a href=\"" +
          html_escape(options.telemetry_path) +
          "\">Metrics</a><a href=\"/-/healthy\">Health</a><a href=\"/-/ready\">Readiness</a></p>\n";
  page += "<p class=\"summary\">" + std::to_string(targets.size()) + " targets: <strong>" +
          std::to_string(failing) + " failing</strong>, " +
          std::to_string(targets.size() - failing - pending) + " ok, " + std::to_string(pending) +
          " pending. Last results as of " + utc_text(options.now) +
          "; this page refreshes every 30 s. Probes run on their own schedule; loading this page "
          "never runs one.</p>\n";
  if (options.shard_count > 1) {
    page += "<p class=\"summary\">Shard " + std::to_string(options.shard_index) + " of " +
            std::to_string(options.shard_count) + " (--shard.index of --shard.count): this "
            "replica probes " + std::to_string(targets.size()) + " of the " +
            std::to_string(options.configured_targets) +
            " configured targets; the other replicas show the rest.</p>\n";
  }
  if (targets.empty()) {
    page += "<p>No targets configured.</p>\n";
    page += extra_sections;
    page += "</body></html>\n";
    return page;
  }
  page += "<table>\n<thead><tr><th>state</th><th>target</th><th>address</th>";
  // One column per stage, from the stage table: a new probe needs no edit here.
  for (const auto& stage : probes::stage_table()) {
    page += "<th title=\"" + html_escape(stage.checks) + "\">" +
            std::string(probes::to_string(stage.probe)) + "</th>";
  }
  page +=
      "<th>last duration</th><th>certificate</th><th>last run</th>"
      "<th>detail / greeting</th></tr></thead>\n<tbody>\n";
  for (std::size_t i = 0; i < shown; ++i) target_row(page, *targets[i], options.now);
  page += "</tbody></table>\n";
  if (shown < targets.size()) {
    std::size_t hidden_failing = failing > shown ? failing - shown : 0;
    page += "<p class=\"hidden-note\">" + std::to_string(targets.size() - shown) +
            " more targets not shown (" + std::to_string(hidden_failing) +
            " of them failing); the table stops at " + std::to_string(options.max_rows) +
            " rows, failing targets first. Every target is in the <a href=\"" +
            html_escape(options.telemetry_path) + "\">metrics</a>.</p>\n";
  }
  page += extra_sections;
  page += "</body></html>\n";
  return page;
}

}  // namespace

std::string render_status_page(const std::vector<target_status>& targets,
                               const status_page_options& options,
                               std::string_view extra_sections) {
  std::vector<const target_status*> rows;
  rows.reserve(targets.size());
  for (const auto& t : targets) rows.push_back(&t);
  return render_rows(std::move(rows), options, extra_sections);
}

std::string render_status_page(const std::vector<std::shared_ptr<const target_status>>& targets,
                               const status_page_options& options,
                               std::string_view extra_sections) {
  std::vector<const target_status*> rows;
  rows.reserve(targets.size());
  for (const auto& t : targets) rows.push_back(t.get());
  return render_rows(std::move(rows), options, extra_sections);
}

std::string render_debug_page(const target_status& t, double now) {
  const auto& c = *t.config;
  std::string page;
  const std::string family = c.family == config::ip_family::none
                               ? std::string()
                               : " (" + std::string(config::to_string(c.family)) + ")";
  page_start(page, "smtp_exporter: " + c.name + family, false);
  page += "<p class=\"nav\"><a href=\"/\">All targets</a></p>\n<h1>" +
          html_escape(c.name + family) + "</h1>\n<table>\n";
  auto row = [&page](std::string_view key, const std::string& value_html) {
    page += "<tr><th>";
    page += html_escape(key);
    page += "</th><td>" + value_html + "</td></tr>\n";
  };
  row("address", html_escape(config::host_port(c.host, c.port)) + " (" +
                     std::string(display::tls_mode(c.tls)) + ")");
  if (!c.provider.empty()) row("provider", html_escape(c.provider));
  if (!t.peer_address.empty()) row("connected to", html_escape(t.peer_address));
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    if (!c.probes[i]) continue;
    const auto& p = t.probes[i];
    std::string value;
    if (!p.has_result) {
      value = "<span class=\"muted\">pending</span>";
    } else if (p.reason == failure_reason::none) {
      value = "success";
    } else {
      value = "<span class=\"reason\">" + html_escape(probes::to_string(p.reason)) + "</span>: " +
              html_escape(headline(p.reason));
    }
    if (p.has_result && p.reply_code != 0) {
      value += " (reply " + std::to_string(p.reply_code) +
               (p.enhanced_code.empty() ? "" : " " + html_escape(p.enhanced_code)) + ")";
    }
    if (p.has_result && p.policy_rejected) {
      value += " <span class=\"bad\">policy refusal of this client</span>";
    }
    if (p.has_result) value += ", " + utc_text(p.last_run_timestamp);
    row(std::string(probes::to_string(static_cast<probe_kind>(i))) + " probe", value);
  }
  if (t.last_run_timestamp > 0) {
    row("last run", utc_text(t.last_run_timestamp) + " (" + age_text(t.last_run_timestamp, now) +
                        "), " + display::seconds(t.last_duration_seconds));
  } else {
    row("last run", "<span class=\"muted\">not run yet</span>");
  }
  auto monospace = [](const std::string& text) {
    return "<span class=\"detail\">" + html_escape(text) + "</span>";
  };
  if (!t.greeting.empty()) row("greeting", monospace(t.greeting));
  if (!t.detail.empty()) row("detail", monospace(t.detail));
  std::string phases;
  for (std::size_t i = 0; i < probes::phase_count; ++i) {
    if (t.phase_seconds[i] < 0) continue;
    if (!phases.empty()) phases += ", ";
    phases += html_escape(probes::to_string(static_cast<probes::phase>(i))) + " " +
              display::seconds(t.phase_seconds[i]);
  }
  if (!phases.empty()) row("phases", phases);
  if (t.delivery) {
    // The delivery probe's read-back (issue 21): where the last message landed, how fast, and
    // the receiving side's verdict.
    const auto& d = *t.delivery;
    std::string value = std::to_string(d.messages_sent) + " message(s) sent";
    if (!d.folder.empty()) {
      value += "; the last found in <strong>" + html_escape(d.folder) + "</strong>";
      if (d.latency_seconds >= 0) value += " after " + display::seconds(d.latency_seconds);
    }
    if (!d.auth_results.empty()) {
      value += "; the receiving side:";
      for (const auto& [method, result] : d.auth_results) {
        value += " " + html_escape(method) + "=" + html_escape(result);
      }
    }
    if (!d.detail.empty()) value += "; " + monospace(d.detail);
    row("delivery", value);
  }
  if (t.tls_seen) {
    const auto& tls = *t.tls;
    row("TLS", html_escape(tls.version + " " + tls.cipher) +
                   (tls.verified ? ", certificate verified"
                                 : ", <span class=\"bad\">certificate NOT verified</span>: " +
                                       html_escape(tls.verify_error)));
    for (const auto& cert : tls.chain) {
      long d = days_left(cert.not_after, now);
      row("certificate " + std::to_string(cert.depth),
          "CN=" + html_escape(cert.subject_cn) + ", issued by CN=" + html_escape(cert.issuer_cn) +
              ", expires " + utc_text(cert.not_after) + " (" +
              (d < 0 ? "<span class=\"bad\">expired</span>" : std::to_string(d) + " days left") +
              ")");
    }
  }
  page += "</table>\n";

  if (const auto failed = display::first_failure(t)) {
    const advice_context context = display::advice_context_for(c, c.port, c.tls, *failed);
    page += "<h2>What to do about " + html_escape(probes::to_string(failed->reason)) +
            "</h2>\n<ul>\n";
    for (const auto& line : advice_for(context)) page += "<li>" + html_escape(line) + "</li>\n";
    page += "</ul>\n<p>Check from the exporter's machine: <code>smtp_exporter diagnose " +
            html_escape(shell_quote(c.name)) + " --config.file FILE</code></p>\n";
  }

  page += "<h2>Transcript of the last run</h2>\n";
  if (t.transcript && !t.transcript->empty()) {
    page += "<pre>";
    page += html_escape(*t.transcript);  // every line ends with '\n', which is not escaped
    page += "</pre>\n<p class=\"muted\">AUTH exchanges are redacted by the probe.</p>\n";
  } else {
    page += "<p class=\"muted\">No run has completed yet.</p>\n";
  }
  page += "</body></html>\n";
  return page;
}

std::string render_provider_credentials_section(
    const std::vector<std::pair<std::string, bool>>& provider_uses_password) {
  std::map<std::string, std::size_t> passwords;  // by provider, sorted
  for (const auto& [provider, password] : provider_uses_password) {
    if (!config::credential_rule_for(provider)) continue;
    passwords[provider] += password ? 1 : 0;
  }
  if (passwords.empty()) return {};
  std::string out =
      "<h2 id=\"credentials\">Provider credentials</h2>\n<table>\n<tr><th>provider</th>"
      "<th>the provider sheet said</th><th>what works now</th><th></th></tr>\n";
  for (const auto& [provider, count] : passwords) {
    const auto rule = *config::credential_rule_for(provider);
    out += "<tr><td>" + html_escape(provider) + "</td><td>" + html_escape(rule.sheet_said) +
           "</td><td>" + html_escape(rule.works_now) + "</td><td>";
    if (rule.oauth_only && count > 0) {
      out += "<span class=\"reason\">" + std::to_string(count) +
             " target(s) still use a password: switch them to [target.auth.oauth2]</span>";
    }
    out += "</td></tr>\n";
  }
  out += "</table>\n";
  return out;
}

}  // namespace smtp_exporter::exporter
