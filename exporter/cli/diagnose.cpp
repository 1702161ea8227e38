// `diagnose`: plans (exporter/diagnose_plan), runs (exporter/diagnose_run) and reports
// (exporter/diagnose_report); this file only puts the three in order and picks the exit status.
#include "exporter/cli/diagnose.hpp"

#include <cstdio>
#include <exception>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "config/config.hpp"
#include "config/presets.hpp"
#include "exporter/views/advice.hpp"
#include "exporter/checks/check_kinds.hpp"
#include "exporter/runtime/clock.hpp"
#include "exporter/cli/diagnose_plan.hpp"
#include "exporter/cli/diagnose_report.hpp"
#include "exporter/cli/diagnose_run.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

json::object credentials_json(const config::credential_rule& rule) {
  return json::object{{"sheet_said", rule.sheet_said},
                      {"works_now", rule.works_now},
                      {"oauth_only", rule.oauth_only}};
}

}  // namespace

int run_diagnose(const diagnose_options& options, std::ostream& out, std::ostream& err) {
  plan p;
  std::string error;
  if (!make_plan(options, p, error) || !prepare_plan(p, error)) {
    err << "smtp_exporter diagnose: " << error << "\n";
    if (options.json) {
      out << json::serialize(json::object{{"target", options.target},
                                          {"error", error},
                                          {"exit_code", exit_code::usage}})
          << "\n";
    }
    return exit_code::usage;
  }

  std::vector<port_run> runs;
  std::vector<check_diagnosis> checks;
  token_step token;
  try {
    asio::io_context io{1};
    probes::dns_resolver resolver(io.get_executor());
    if (!options.json) print_header(out, p);
    token = fetch_token(io, p, options.json ? nullptr : &out);
    for (const auto& port : p.ports) {
      if (!options.json) {
        const std::string_view family = config::to_string(port.family);
        out << "\n" << config::host_port(p.target.host, port.port) << " ("
            << config::to_string(port.mode) << (family.empty() ? "" : ", ") << family << ")\n";
      }
      runs.push_back(run_port(io, resolver, p, port, options.json ? nullptr : &out));
      if (!options.json) print_port_result(out, p, runs.back(), options.verbose, unix_now());
    }
    // The checklist's last items: the config's other kinds of check (is this machine's IP on a
    // block list?).
    if (p.config) {
      for (const auto& kind : make_check_runners(io.get_executor(), io.get_executor())) {
        auto d = kind->diagnose(io, *p.config, options.json ? nullptr : &out);
        if (d) checks.push_back(std::move(*d));
      }
    }
  } catch (const std::exception& e) {
    err << "smtp_exporter diagnose: internal error: " << e.what() << "\n";
    return exit_code::internal_error;
  }

  // The first port (in the order tried) that failed decides the exit code.
  failure_class first_failure = failure_class::none;
  std::size_t failed = 0;
  for (const auto& run : runs) {
    if (run.passed()) continue;
    if (failed++ == 0) first_failure = run.cls;
  }
  const int code = exit_code_for(first_failure);

  const double now = unix_now();
  if (options.json) {
    json::object doc;
    doc["target"] = p.target.name;
    doc["source"] = p.source;
    doc["provider"] = p.provider ? json::value(p.provider->name) : json::value(nullptr);
    if (auto rule = config::credential_rule_for(p.target.provider)) {
      doc["credentials"] = credentials_json(*rule);
    }
    doc["host"] = p.target.host;
    doc["openssl_version"] = openssl_version();
    doc["passed"] = failed == 0;
    doc["exit_code"] = code;
    json::array ports;
    for (const auto& run : runs) ports.push_back(port_json(p, run, now));
    doc["ports"] = std::move(ports);
    if (token.ran) {
      doc["oauth2_token"] = json::object{{"flow", token.flow},
                                         {"endpoint", token.endpoint},
                                         {"ok", token.ok},
                                         {"seconds", token.seconds},
                                         {"expires_in_seconds", token.expires_in_seconds},
                                         {"error", token.error},
                                         {"detail", token.detail}};
    }
    for (auto& check : checks) doc[check.json_key] = std::move(check.json);
    out << json::serialize(doc) << "\n";
    return code;
  }

  out << "\nverdict for " << p.target.host << ":\n";
  for (const auto& run : runs) {
    char label[32];
    std::snprintf(label, sizeof label, "%-16s", port_label(run.port).c_str());
    out << "  " << label << "  ";
    if (run.passed()) {
      out << "works (" << probes_text(run) << ")\n";
    } else {
      out << probes::to_string(run.failure.reason) << ": " << headline(run.failure.reason) << "\n";
    }
  }
  for (const auto& check : checks) {
    char label[32];
    std::snprintf(label, sizeof label, "%-16s", check.verdict_label.c_str());
    out << "  " << label << "  " << check.verdict << "\n";
  }
  if (failed == 0) {
    out << "all " << runs.size() << (runs.size() == 1 ? " port" : " ports")
        << " passed; exit status 0\n";
  } else {
    out << failed << " of " << runs.size() << (runs.size() == 1 ? " port" : " ports")
        << " failed; exit status " << code << " (" << to_string(first_failure) << ")\n";
  }
  return code;
}

int run_providers(bool as_json, std::ostream& out) {
  if (as_json) {
    json::array list;
    for (const auto& preset : config::provider_presets()) {
      json::array ports;
      for (std::size_t i = 0; i < preset.ports.size(); ++i) {
        ports.push_back(json::object{{"port", preset.ports[i].port},
                                     {"tls", config::to_string(preset.ports[i].tls)},
                                     {"default", i == 0}});
      }
      list.push_back(json::object{{"provider", preset.name},
                                  {"name", preset.display_name},
                                  {"host", preset.host},
                                  {"ports", std::move(ports)},
                                  {"authorization_code", preset.authorization_code},
                                  {"password_note", preset.password_note},
                                  {"credentials", credentials_json(preset.credentials)}});
    }
    out << json::serialize(list) << "\n";
    return 0;
  }
  char line[256];
  std::snprintf(line, sizeof line, "%-10s %-20s %-24s %-46s %s\n", "PROVIDER", "NAME", "HOST",
                "PORTS (TLS MODE; FIRST IS THE DEFAULT)", "NOTE");
  out << line;
  for (const auto& preset : config::provider_presets()) {
    std::string ports;
    for (const auto& pp : preset.ports) {
      if (!ports.empty()) ports += ", ";
      ports += port_label({pp.port, pp.tls});
    }
    std::snprintf(line, sizeof line, "%-10.*s %-20.*s %-24.*s %-46s %s\n",
                  static_cast<int>(preset.name.size()), preset.name.data(),
                  static_cast<int>(preset.display_name.size()), preset.display_name.data(),
                  static_cast<int>(preset.host.size()), preset.host.data(), ports.c_str(),
                  preset.password_note.empty()
                      ? ""
                      : ("password: " + std::string(preset.password_note)).c_str());
    out << line;
    if (!preset.credentials.works_now.empty()) {
      out << "           credentials now: " << preset.credentials.works_now
          << " (the sheet said: " << preset.credentials.sheet_said << ")\n";
    }
  }
  out << "\nCheck one from this machine: smtp_exporter diagnose PROVIDER (every port is tried).\n";
  return 0;
}

}  // namespace smtp_exporter::exporter
