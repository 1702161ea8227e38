#include "exporter/clock.hpp"
#include "exporter/diagnose.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <exception>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/json.hpp>

#include "config/config.hpp"
#include "config/presets.hpp"
#include "exporter/advice.hpp"
#include "exporter/diagnose_dnsbl.hpp"
#include "exporter/scheduler.hpp"
#include "probes/credentials.hpp"
#include "probes/session.hpp"
#include "probes/tls_context.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace json = boost::json;
using probes::failure_reason;
using probes::phase;
using probes::probe_kind;

namespace {

constexpr auto default_timeout = std::chrono::seconds(10);
// A certificate this close to its end is worth a "warn" before it becomes a failure.
constexpr long expiry_warning_days = 14;

struct port_plan {
  std::uint16_t port = 0;
  config::tls_mode mode = config::tls_mode::starttls;
};

// What to probe: one target's settings and the ports to try with them.
struct plan {
  std::string source;  // "config", "provider" or "address"
  config::target target;
  const config::provider_preset* provider = nullptr;
  std::vector<port_plan> ports;
  std::shared_ptr<asio::ssl::context> tls_context;
  std::optional<config::dnsbl_settings> dnsbl;  // [dnsbl] of the config file, when enabled
};

// One port's run, as it happened.
struct port_run {
  port_plan port;
  std::vector<probes::session_event> events;
  probes::session_result result;
  failure_reason reason = failure_reason::none;
  probe_kind failed_probe = probe_kind::banner;
  int reply_code = 0;
  failure_class cls = failure_class::none;
  bool passed() const { return reason == failure_reason::none; }
};

std::optional<std::uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

// "host:port", "[v6]:port", "host", "v6". Port 0 when absent.
bool split_address(const std::string& text, std::string& host, std::uint16_t& port,
                   std::string& error) {
  port = 0;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) {
      error = "missing ] in " + text;
      return false;
    }
    host = text.substr(1, close - 1);
    std::string rest = text.substr(close + 1);
    if (rest.empty()) return !host.empty();
    if (rest.front() != ':' || !parse_port(rest.substr(1))) {
      error = "bad port in " + text;
      return false;
    }
    port = *parse_port(rest.substr(1));
    return !host.empty();
  }
  auto colon = text.find(':');
  if (colon != std::string::npos && text.find(':', colon + 1) == std::string::npos) {
    host = text.substr(0, colon);
    auto p = parse_port(text.substr(colon + 1));
    if (!p) {
      error = "bad port in " + text + " (want 1..65535)";
      return false;
    }
    port = *p;
  } else {
    host = text;  // a name, or a bare IPv6 address
  }
  if (host.empty() ||
      std::any_of(host.begin(), host.end(), [](char c) { return c == ' ' || c < 0x20; })) {
    error = "bad host in " + text;
    return false;
  }
  return true;
}

// Builds the plan from the flags; false with `error` set on a usage or configuration error.
bool make_plan(const diagnose_options& o, plan& p, std::string& error) {
  config::target& t = p.target;
  bool found = false;
  if (!o.config_file.empty()) {
    auto loaded = config::load_file(o.config_file);
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors) error += e + "\n";
      error += o.config_file + ": configuration is invalid";
      return false;
    }
    if (loaded.config->dnsbl.enabled) p.dnsbl = loaded.config->dnsbl;
    for (const auto& candidate : loaded.config->targets) {
      if (candidate.name != o.target) continue;
      t = candidate;
      p.source = "config";
      p.provider = t.provider.empty() ? nullptr : config::find_provider(t.provider);
      p.ports.push_back({t.port, t.tls});
      found = true;
      break;
    }
  }
  if (!found) {
    t.name = o.target;
    t.ehlo_name = config::default_ehlo_name();
    t.timeout = default_timeout;
    if (const auto* preset = config::find_provider(o.target)) {
      p.source = "provider";
      p.provider = preset;
      t.provider = preset->name;
      t.host = preset->host;
      for (const auto& pp : preset->ports) p.ports.push_back({pp.port, pp.tls});
    } else {
      std::uint16_t port = 0;
      std::string address_error;
      if (!split_address(o.target, t.host, port, address_error)) {
        error = "unknown target \"" + o.target + "\": " + address_error;
        return false;
      }
      if (port == 0 && o.ports.empty()) {
        error = "unknown target \"" + o.target +
                "\": not a provider (see `smtp_exporter providers`), not host:port" +
                (o.config_file.empty() ? std::string(", and no --config.file given")
                                       : ", and no target of that name in " + o.config_file);
        return false;
      }
      p.source = "address";
      if (port != 0) p.ports.push_back({port, config::tls_mode_for_port(nullptr, port)});
    }
  }

  if (!o.host.empty()) t.host = o.host;
  if (!o.ports.empty()) {
    std::vector<port_plan> ports;
    for (auto port : o.ports) {
      // A config target keeps its own mode on its own port.
      auto mode = p.source == "config" && port == t.port
                      ? t.tls
                      : config::tls_mode_for_port(p.provider, port);
      auto same = [port](const port_plan& x) { return x.port == port; };
      if (std::none_of(ports.begin(), ports.end(), same)) ports.push_back({port, mode});
    }
    p.ports = std::move(ports);
  }
  if (!o.tls.empty()) {
    auto mode = config::parse_tls_mode(o.tls);
    if (!mode) {
      error = "--tls: want none, starttls or implicit";
      return false;
    }
    for (auto& port : p.ports) port.mode = *mode;
  }
  if (!o.server_name.empty()) t.tls_config.server_name = o.server_name;
  if (!o.ca_file.empty()) t.tls_config.ca_file = o.ca_file;
  if (o.insecure_skip_verify) t.tls_config.insecure_skip_verify = true;
  if (!o.ehlo_name.empty()) t.ehlo_name = o.ehlo_name;
  if (o.allow_plaintext) t.allow_plaintext = true;
  if (!o.timeout.empty()) {
    auto d = config::parse_duration(o.timeout);
    if (!d || d->count() <= 0) {
      error = "--timeout: want a duration such as 10s or 1500ms";
      return false;
    }
    t.timeout = *d;
  }

  const int secrets = !o.password_file.empty() + !o.password_env.empty() + !o.token_file.empty();
  if (secrets > 1) {
    error = "give one of --password-file, --password-env, --token-file";
    return false;
  }
  if (!o.username.empty() || secrets > 0) {
    if (o.username.empty() || secrets == 0) {
      error = "AUTH needs --username and one of --password-file, --password-env, --token-file "
              "(never a password on the command line)";
      return false;
    }
    config::auth_settings auth;
    auth.username = o.username;
    auth.password_file = o.password_file;
    auth.password_env = o.password_env;
    auth.token_file = o.token_file;
    t.auth = auth;
  }
  if (!o.auth_mechanism.empty()) {
    auto m = config::parse_auth_mechanism(o.auth_mechanism);
    if (!m) {
      error = "--auth-mechanism: want auto, PLAIN, LOGIN, CRAM-MD5 or XOAUTH2";
      return false;
    }
    if (!t.auth) {
      error = "--auth-mechanism needs credentials (--username and --password-file, ...)";
      return false;
    }
    t.auth->mechanism = *m;
  }
  if (t.auth) {
    // A typo in a secret's path is this machine's problem: say so before connecting anywhere.
    auto credentials = probes::load_credentials({t.auth->username, t.auth->password_file,
                                                 t.auth->password_env, t.auth->password,
                                                 t.auth->token_file});
    if (!credentials.ok()) {
      error = credentials.error;
      return false;
    }
  }
  if (std::any_of(p.ports.begin(), p.ports.end(),
                  [](const port_plan& x) { return x.mode != config::tls_mode::none; })) {
    std::string context_error;
    p.tls_context = probes::make_client_context(
        {t.tls_config.ca_file, t.tls_config.cert_file, t.tls_config.key_file}, context_error);
    if (!p.tls_context) {
      error = context_error;
      return false;
    }
  }
  return true;
}

// ---- text -------------------------------------------------------------------------------------

std::string_view step_label(phase p) {
  switch (p) {
    case phase::resolve: return "resolve";
    case phase::connect: return "connect";
    case phase::banner: return "greeting";
    case phase::ehlo: return "ehlo";
    case phase::starttls: return "starttls";
    case phase::tls_handshake: return "tls";
    case phase::auth: return "auth";
    case phase::quit: return "quit";
  }
  return "?";
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", s);
  return buf;
}

std::string days_text(long days) {
  if (days < 0) return "EXPIRED " + std::to_string(-days) + " days ago";
  return std::to_string(days) + (days == 1 ? " day left" : " days left");
}

std::string port_label(const port_plan& p) {
  return std::to_string(p.port) + " (" + std::string(config::to_string(p.mode)) + ")";
}

void print_line(std::ostream& out, std::string_view status, std::string_view label,
                std::string_view duration, std::string_view text) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "  %-4.*s  %-9.*s %8.*s  ", static_cast<int>(status.size()),
                status.data(), static_cast<int>(label.size()), label.data(),
                static_cast<int>(duration.size()), duration.data());
  out << buf << text << "\n";
  out.flush();  // a step shows as it completes, even through a pipe
}

void print_step(std::ostream& out, const probes::session_event& e) {
  print_line(out, e.ok ? "ok" : "FAIL", step_label(e.step), seconds_text(e.seconds), e.summary);
}

advice_context context_for(const plan& p, const port_run& run) {
  advice_context c;
  c.reason = run.reason;
  c.host = p.target.host;
  c.port = run.port.port;
  c.mode = run.port.mode;
  c.server_name = p.target.tls_config.server_name;
  c.provider = p.provider;
  c.reply_code = run.reply_code;
  c.openssl_version = openssl_version();
  return c;
}

bool is_timeout(failure_reason r) {
  return r == failure_reason::connect_timeout || r == failure_reason::banner_timeout ||
         r == failure_reason::tls_timeout || r == failure_reason::timeout;
}

void print_tls_facts(std::ostream& out, const plan& p, const port_run& run, double now) {
  const auto& tls = run.result.tls;
  for (const auto& cert : tls.chain) {
    const long days = days_left(cert.not_after, now);
    std::string text = "CN=" + cert.subject_cn + ", issued by CN=" + cert.issuer_cn +
                       ", expires " + utc_text(cert.not_after) + ", " + days_text(days);
    print_line(out, days < 0 ? "FAIL" : days < expiry_warning_days ? "warn" : "",
               "cert[" + std::to_string(cert.depth) + "]", "", text);
  }
  if (tls.chain_length > 1) {
    double earliest = tls.earliest_not_after();
    print_line(out, "", "chain", "",
               std::to_string(tls.chain_length) + " certificates, earliest expiry " +
                   utc_text(earliest) + ", " + days_text(days_left(earliest, now)));
  }
  const std::string& name =
      p.target.tls_config.server_name.empty() ? p.target.host : p.target.tls_config.server_name;
  if (tls.verified) {
    print_line(out, "ok", "verify", "", "certificate verified for " + name);
  } else {
    std::string why = std::string(probes::to_string(tls.verify_reason)) + ": " + tls.verify_error;
    if (p.target.tls_config.insecure_skip_verify) {
      print_line(out, "warn", "verify", "", why + " (ignored: --insecure-skip-verify)");
    } else {
      print_line(out, "FAIL", "verify", "", why);
    }
  }
}

std::string probes_text(const port_run& run) {
  std::string out;
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    if (!run.result.probes[i].ran) continue;
    if (!out.empty()) out += ", ";
    out += probes::to_string(static_cast<probe_kind>(i));
  }
  return out;
}

void print_outcome(std::ostream& out, const plan& p, const port_run& run) {
  if (run.passed()) {
    out << "  => passed: " << probes_text(run) << "\n";
    return;
  }
  out << "  => FAILED: " << probes::to_string(run.reason) << ": " << headline(run.reason) << "\n";
  if (is_timeout(run.reason)) {
    out << "     no answer within " << config::format_duration(p.target.timeout) << "\n";
  } else if (!run.result.detail.empty()) {
    out << "     " << run.result.detail << "\n";
  }
  out << "     What to do:\n";
  for (const auto& line : advice_for(context_for(p, run))) out << "     - " << line << "\n";
}

// ---- JSON -------------------------------------------------------------------------------------

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

json::object port_json(const plan& p, const port_run& run, double now) {
  const auto& r = run.result;
  json::object o;
  o["port"] = run.port.port;
  o["tls"] = config::to_string(run.port.mode);
  o["passed"] = run.passed();
  o["result"] = probes::to_string(run.reason);
  o["class"] = to_string(run.cls);
  o["headline"] = headline(run.reason);
  o["reply_code"] = run.reply_code;
  json::object probe_results;
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    const auto& outcome = r.probes[i];
    if (!outcome.ran) continue;
    probe_results[probes::to_string(static_cast<probe_kind>(i))] = json::object{
        {"result", probes::to_string(outcome.reason)}, {"reply_code", outcome.reply_code}};
  }
  o["probes"] = std::move(probe_results);
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

// ---- running ----------------------------------------------------------------------------------

port_run run_port(asio::io_context& io, probes::dns_resolver& resolver, const plan& p,
                  const port_plan& port, std::ostream* live) {
  port_run run;
  run.port = port;
  config::target t = p.target;
  t.port = port.port;
  t.tls = port.mode;
  auto options = session_options_for(t);
  const bool tls = port.mode != config::tls_mode::none;
  if (tls) options.tls_context = p.tls_context;
  options.due[static_cast<std::size_t>(probe_kind::banner)] = true;
  options.due[static_cast<std::size_t>(probe_kind::tls)] = tls;
  options.due[static_cast<std::size_t>(probe_kind::auth)] = t.auth.has_value();
  options.on_event = [&run, live](const probes::session_event& e) {
    run.events.push_back(e);
    if (live) print_step(*live, e);
  };

  run.result = run_to_completion(io, probes::run_session(options, resolver));
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    const auto& outcome = run.result.probes[i];
    if (!outcome.ran || outcome.reason == failure_reason::none) continue;
    run.reason = outcome.reason;
    run.failed_probe = static_cast<probe_kind>(i);
    run.reply_code = outcome.reply_code;
    run.cls = class_of(run.reason, run.failed_probe);
    break;
  }
  return run;
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
  out << "\nprobes: banner";
  bool any_tls = std::any_of(p.ports.begin(), p.ports.end(), [](const port_plan& x) {
    return x.mode != config::tls_mode::none;
  });
  if (any_tls) out << ", tls";
  if (p.target.auth) out << ", auth as " << p.target.auth->username;
  out << "; timeout " << config::format_duration(p.target.timeout) << " per port";
  if (!p.target.auth) out << "; no auth (give --username and --password-file or --password-env)";
  out << "\n";
  out.flush();
}

}  // namespace

int run_diagnose(const diagnose_options& options, std::ostream& out, std::ostream& err) {
  plan p;
  std::string error;
  if (!make_plan(options, p, error)) {
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
  std::optional<dnsbl_diagnosis> dnsbl;
  try {
    asio::io_context io{1};
    probes::dns_resolver resolver(io.get_executor());
    if (!options.json) print_header(out, p);
    for (const auto& port : p.ports) {
      if (!options.json) {
        out << "\n" << config::host_port(p.target.host, port.port) << " ("
            << config::to_string(port.mode) << ")\n";
      }
      runs.push_back(run_port(io, resolver, p, port, options.json ? nullptr : &out));
      if (options.json) continue;
      const auto& run = runs.back();
      if (run.result.tls_seen) print_tls_facts(out, p, run, unix_now());
      if (options.verbose) {
        for (const auto& line : run.result.transcript) out << "     | " << line << "\n";
      }
      print_outcome(out, p, run);
      out.flush();
    }
    // The checklist's last item: is this machine's IP on a block list?
    if (p.dnsbl) dnsbl = diagnose_dnsbl(io, *p.dnsbl, options.json ? nullptr : &out);
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
    doc["host"] = p.target.host;
    doc["openssl_version"] = openssl_version();
    doc["passed"] = failed == 0;
    doc["exit_code"] = code;
    json::array ports;
    for (const auto& run : runs) ports.push_back(port_json(p, run, now));
    doc["ports"] = std::move(ports);
    if (dnsbl) doc["dnsbl"] = std::move(dnsbl->lookups);
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
      out << probes::to_string(run.reason) << ": " << headline(run.reason) << "\n";
    }
  }
  if (dnsbl) {
    out << "  DNSBL             ";
    if (dnsbl->listed > 0) {
      out << "egress IP LISTED: " << dnsbl->listed << " listing(s), " << dnsbl->listed_blocking
          << " on lists marked blocking\n";
    } else if (dnsbl->egress_ips == 0) {
      out << "no egress IP found to check\n";
    } else {
      out << "not listed" << (dnsbl->errors > 0 ? " where lists answered; " : "")
          << (dnsbl->errors > 0 ? std::to_string(dnsbl->errors) + " lookup(s) failed (unknown)"
                                : "")
          << "\n";
    }
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
                                  {"password_note", preset.password_note}});
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
  }
  out << "\nCheck one from this machine: smtp_exporter diagnose PROVIDER (every port is tried).\n";
  return 0;
}

}  // namespace smtp_exporter::exporter
