#include "exporter/cli/diagnose_report.hpp"

#include <cstdio>

#include "exporter/views/advice.hpp"
#include "exporter/runtime/clock.hpp"
#include "exporter/views/display.hpp"
#include "probes/smtp/stages.hpp"

namespace smtp_exporter::exporter {

namespace json = boost::json;
using probes::failure_reason;
using probes::probe_kind;

namespace {

std::string days_text(long days) {
  if (days < 0) return "EXPIRED " + std::to_string(-days) + " days ago";
  return std::to_string(days) + (days == 1 ? " day left" : " days left");
}


advice_context context_for(const plan& p, const port_run& run) {
  return display::advice_context_for(p.target, run.port.port, run.port.mode, run.failure);
}

void print_tls_facts(std::ostream& out, const plan& p, const port_run& run, double now) {
  const auto& tls = run.result.tls;
  for (const auto& cert : tls.chain) {
    const long days = days_left(cert.not_after, now);
    std::string text = "CN=" + cert.subject_cn + ", issued by CN=" + cert.issuer_cn +
                       ", expires " + utc_text(cert.not_after) + ", " + days_text(days);
    const auto expiry = display::expiry_of(days);
    print_line(out,
               expiry == display::expiry::expired ? "FAIL"
               : expiry == display::expiry::soon  ? "warn"
                                                  : "",
               "cert[" + std::to_string(cert.depth) + "]", "", text);
  }
  if (tls.chain_length > 1) {
    double earliest = tls.earliest_not_after();
    print_line(out, "", "chain", "",
               std::to_string(tls.chain_length) + " certificates, earliest expiry " +
                   utc_text(earliest) + ", " + days_text(days_left(earliest, now)));
  }
  const std::string& name =
      p.target.tls_config->server_name.empty() ? p.target.host : p.target.tls_config->server_name;
  if (tls.verified) {
    print_line(out, "ok", "verify", "", "certificate verified for " + name);
  } else {
    std::string why = std::string(probes::to_string(tls.verify_reason)) + ": " + tls.verify_error;
    if (p.target.tls_config->insecure_skip_verify) {
      print_line(out, "warn", "verify", "", why + " (ignored: --insecure-skip-verify)");
    } else {
      print_line(out, "FAIL", "verify", "", why);
    }
  }
}

void print_outcome(std::ostream& out, const plan& p, const port_run& run) {
  if (run.passed()) {
    out << "  => passed: " << probes_text(run) << "\n";
    return;
  }
  const auto reason = run.failure.reason;
  out << "  => FAILED: " << probes::to_string(reason) << ": " << headline(reason) << "\n";
  // The detail is already in the reader's terms (probes/core/verdicts.cpp), timeouts included.
  if (!run.result.detail.empty()) out << "     " << run.result.detail << "\n";
  out << "     What to do:\n";
  for (const auto& line : advice_for(context_for(p, run))) out << "     - " << line << "\n";
}

json::object tls_json(const probes::tls_facts& tls, double now) {
  json::object o;
  o["version"] = tls.version;
  o["cipher"] = tls.cipher;
  o["verified"] = tls.verified;
  o["hostname_match"] = tls.hostname_match;
  o["verify_result"] = probes::to_string(tls.verify_reason);
  o["verify_error"] = tls.verify_error;
  json::array chain;
  for (const auto& cert : tls.chain) {
    json::object c;
    c["depth"] = cert.depth;
    c["subject_cn"] = cert.subject_cn;
    c["issuer_cn"] = cert.issuer_cn;
    c["not_before"] = cert.not_before;
    c["not_after"] = cert.not_after;
    c["days_left"] = days_left(cert.not_after, now);
    chain.push_back(std::move(c));
  }
  o["chain"] = std::move(chain);
  o["chain_length"] = tls.chain_length;
  if (!tls.chain.empty()) {
    o["leaf_days_left"] = days_left(tls.chain.front().not_after, now);
    o["chain_earliest_days_left"] = days_left(tls.earliest_not_after(), now);
  }
  o["ocsp_stapled"] = tls.ocsp_stapled;
  return o;
}

}  // namespace

std::string probes_text(const port_run& run) {
  std::string out;
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    if (!run.result.probes[i].ran) continue;
    if (!out.empty()) out += ", ";
    out += probes::to_string(static_cast<probe_kind>(i));
  }
  return out;
}

std::string port_label(const port_plan& p) {
  const std::string_view family = config::to_string(p.family);
  return std::to_string(p.port) + " (" + std::string(config::to_string(p.mode)) +
         (family.empty() ? std::string() : ", " + std::string(family)) + ")";
}

void print_step(std::ostream& out, const probes::session_event& e) {
  print_line(out, e.ok ? "ok" : "FAIL", display::step(e.step), display::seconds(e.seconds),
             e.summary);
}

void print_port_result(std::ostream& out, const plan& p, const port_run& run, bool verbose,
                       double now) {
  if (run.result.tls_seen) print_tls_facts(out, p, run, now);
  if (verbose) {
    for (const auto& line : run.result.transcript) out << "     | " << line << "\n";
  }
  print_outcome(out, p, run);
  out.flush();
}

json::object port_json(const plan& p, const port_run& run, double now) {
  const auto& r = run.result;
  json::object o;
  o["port"] = run.port.port;
  o["tls"] = config::to_string(run.port.mode);
  if (run.port.family != config::ip_family::none) {
    o["ip_family"] = config::to_string(run.port.family);
  }
  o["passed"] = run.passed();
  o["result"] = probes::to_string(run.failure.reason);
  o["class"] = to_string(run.cls);
  o["headline"] = headline(run.failure.reason);
  o["reply_code"] = run.failure.reply_code;
  o["enhanced_code"] = run.failure.enhanced_code;
  o["policy_rejected"] = run.failure.policy_rejected;
  json::object probe_results;
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    const auto& outcome = r.probes[i];
    if (!outcome.ran) continue;
    probe_results[probes::to_string(static_cast<probe_kind>(i))] = json::object{
        {"result", probes::to_string(outcome.reason)},
        {"reply_code", outcome.reply_code},
        {"enhanced_code", outcome.enhanced_code},
        {"policy_rejected", outcome.policy_rejected}};
  }
  o["probes"] = std::move(probe_results);
  if (run.delivery.ran) {
    const auto& d = run.delivery;
    json::object auth_results;
    for (const auto& [method, result] : d.report.outcome.auth_results) {
      auth_results[method] = result;
    }
    o["delivery"] = json::object{
        {"result", probes::to_string(d.verdict.reason)},
        {"detail", d.verdict.detail},
        {"probe_id", d.sent.probe_id},
        {"message_id", d.sent.message_id},
        {"accepted_reply", d.sent.reply},
        {"folder", d.report.outcome.folder},
        {"mailbox", d.report.result.mailbox},
        {"latency_seconds", d.report.outcome.latency_seconds},
        {"searches", d.report.result.polls},
        {"deleted", d.report.result.deleted},
        {"stale_removed", d.report.stale_removed},
        {"authserv_id", d.report.result.verdict ? json::value(d.report.result.verdict->authserv_id)
                                                : json::value(nullptr)},
        {"auth_results", std::move(auth_results)}};
  }
  json::array steps;
  for (const auto& e : run.events) {
    steps.push_back(json::object{{"phase", probes::to_string(e.step)},
                                 {"ok", e.ok},
                                 {"seconds", e.seconds},
                                 {"summary", e.summary}});
  }
  o["steps"] = std::move(steps);
  o["duration_seconds"] = r.total_seconds;
  o["peer_address"] = r.peer_address;
  o["greeting"] = r.greeting;
  if (r.ehlo_seen) {
    json::array extensions, mechanisms;
    for (std::size_t i = 0; i < probes::extension_count; ++i) {
      auto e = static_cast<probes::extension>(i);
      if (r.ehlo.has(e)) extensions.push_back(json::value(probes::to_string(e)));
    }
    for (std::size_t i = 0; i < probes::auth_mechanism_count; ++i) {
      auto m = static_cast<probes::auth_mechanism>(i);
      if (r.ehlo.has(m)) mechanisms.push_back(json::value(probes::to_string(m)));
    }
    o["ehlo"] = json::object{{"extensions", std::move(extensions)},
                             {"auth_mechanisms", std::move(mechanisms)}};
  } else {
    o["ehlo"] = nullptr;
  }
  o["tls_facts"] = r.tls_seen ? json::value(tls_json(r.tls, now)) : json::value(nullptr);
  o["detail"] = r.detail;
  json::array advice;
  for (auto& line : advice_for(context_for(p, run))) advice.push_back(json::value(line));
  o["advice"] = std::move(advice);
  json::array transcript;
  for (const auto& line : r.transcript) transcript.push_back(json::value(line));
  o["transcript"] = std::move(transcript);
  return o;
}

void print_header(std::ostream& out, const plan& p) {
  out << "smtp_exporter diagnose " << p.target.name << ": ";
  if (p.source == "provider") out << p.provider->display_name << ", ";
  if (p.source == "config") out << "target in the config, ";
  out << "host " << p.target.host << (p.ports.size() == 1 ? ", port " : ", ports ");
  for (std::size_t i = 0; i < p.ports.size(); ++i) {
    if (i) out << ", ";
    out << port_label(p.ports[i]);
  }
  // Every stage that applies on some port, from the stage table: a new stage shows by its name.
  out << "\nprobes: ";
  std::string_view separator;
  for (const auto& stage : probes::stage_table()) {
    const bool applies = std::any_of(p.ports.begin(), p.ports.end(), [&](const port_plan& x) {
      return probes_due(p, x)[static_cast<std::size_t>(stage.probe)];
    });
    if (!applies) continue;
    out << separator << probes::to_string(stage.probe);
    separator = ", ";
    // What the stages that send the operator's data send.
    if (stage.probe == probe_kind::auth) out << " as " << p.target.auth->username;
    if (stage.probe == probe_kind::envelope) {
      out << " MAIL FROM:<" << p.target.envelope->mail_from << "> RCPT TO:<"
          << p.target.envelope->rcpt_to << "> (then RSET; never DATA)";
    }
  }
  out << "; timeout " << config::format_duration(p.target.timeout) << " per port";
  if (!p.target.auth) out << "; no auth (give --username and --password-file or --password-env)";
  out << "\n";
  // The provider's credential rule as of today: the sheet this project grew from predates it.
  if (auto rule = config::credential_rule_for(p.target.provider)) {
    out << "credentials: the provider sheet said \"" << rule->sheet_said << "\"; what works now: "
        << rule->works_now << "\n";
    const bool password = p.target.auth && !p.target.auth->oauth2 && p.target.auth->token_file.empty();
    if (rule->oauth_only && password) {
      out << "  warn  this target uses a password, which this provider no longer takes: see "
             "[target.auth.oauth2]\n";
    }
  }
  out.flush();
}

}  // namespace smtp_exporter::exporter
