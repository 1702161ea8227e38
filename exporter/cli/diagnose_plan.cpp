#include "exporter/cli/diagnose_plan.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "common/host_port.hpp"
#include "common/numeric_host.hpp"
#include "exporter/schedule/session_options.hpp"
#include "probes/smtp/stages.hpp"

namespace smtp_exporter::exporter {

namespace {
constexpr auto default_timeout = std::chrono::seconds(10);
constexpr config::duration max_diagnose_timeout = std::chrono::minutes(10);
constexpr config::duration max_delivery_deadline = std::chrono::minutes(30);

bool any_imap_flag(const diagnose_options& o) {
  return !o.imap.empty() || !o.imap_tls.empty() || !o.imap_username.empty() ||
         !o.imap_password_file.empty() || !o.imap_password_env.empty() ||
         !o.imap_ca_file.empty() || !o.delivery_deadline.empty();
}

// --deliver-to and the --imap flags, over the config target's [target.delivery] when it has one.
bool plan_delivery(const diagnose_options& o, plan& p, std::string& error) {
  config::target& t = p.target;
  if (o.deliver_to.empty()) {
    // Sending a message is never implied, not even by the config: the read-back would not run
    // and the message would stay in the mailbox.
    t.delivery.reset();
    if (any_imap_flag(o)) {
      error = "--imap, --imap-* and --delivery-deadline belong to --deliver-to ADDRESS";
      return false;
    }
    return true;
  }
  if (p.ports.size() != 1) {
    error = "--deliver-to sends one message: give one --port";
    return false;
  }
  config::delivery_settings d = t.delivery ? *t.delivery : config::delivery_settings{};
  d.to = o.deliver_to;
  if (!o.mail_from.empty()) {
    d.from = o.mail_from;
  } else if (d.from.empty()) {
    if (t.envelope) {
      d.from = t.envelope->mail_from;
    } else if (t.auth && !config::address_problem(t.auth->username)) {
      d.from = t.auth->username;
    }
  }
  if (d.from.empty()) {
    error = "--deliver-to needs --mail-from (the username is not an address)";
    return false;
  }
  for (const auto& [flag, address] :
       {std::pair{"--deliver-to", d.to}, std::pair{"--mail-from", d.from}}) {
    if (auto problem = config::address_problem(address)) {
      error = std::string(flag) + ": " + *problem;
      return false;
    }
  }
  if (!o.imap.empty()) {
    std::uint16_t port = 0;
    std::string address_error;
    std::string host;
    if (!split_address(o.imap, host, port, address_error)) {
      error = "--imap: " + address_error;
      return false;
    }
    d.imap = config::delivery_imap_settings{};
    d.imap.host = host;
    d.imap.port = port == 0 ? 993 : port;
    d.imap.tls = d.imap.port == 143 ? config::tls_mode::starttls : config::tls_mode::implicit;
    d.imap.auth.username = o.imap_username.empty() ? d.to : o.imap_username;
  } else if (!t.delivery) {
    error = "--deliver-to needs --imap HOST[:PORT] to read the message back (or a config target "
            "with [target.delivery.imap])";
    return false;
  }
  if (!o.imap_tls.empty()) {
    auto mode = config::parse_tls_mode(o.imap_tls);
    if (!mode || *mode == config::tls_mode::none) {
      error = "--imap-tls: want implicit or starttls (IMAP credentials never go in clear)";
      return false;
    }
    d.imap.tls = *mode;
  }
  if (!o.imap_username.empty()) d.imap.auth.username = o.imap_username;
  if (!o.imap_ca_file.empty()) d.imap.ca_file = o.imap_ca_file;
  if (!o.imap_password_file.empty() && !o.imap_password_env.empty()) {
    error = "give one of --imap-password-file, --imap-password-env";
    return false;
  }
  if (!o.imap_password_file.empty() || !o.imap_password_env.empty()) {
    auto& a = d.imap.auth;
    a.password_file = o.imap_password_file;
    a.password_env = o.imap_password_env;
    a.password = {};
    a.token_file.clear();
    a.oauth2.reset();
  }
  const auto& a = d.imap.auth;
  if (a.password_file.empty() && a.password_env.empty() && a.password.empty() &&
      a.token_file.empty() && !a.oauth2) {
    error = "--deliver-to needs the IMAP login's secret: --imap-password-file or "
            "--imap-password-env (never a password on the command line)";
    return false;
  }
  if (!o.delivery_deadline.empty()) {
    auto deadline = config::parse_duration(o.delivery_deadline);
    if (!deadline || deadline->count() <= 0 || *deadline > max_delivery_deadline) {
      error = "--delivery-deadline: want a duration from 1s to " +
              config::format_duration(max_delivery_deadline) + ", such as 2m";
      return false;
    }
    d.deadline = *deadline;
  }
  t.delivery = std::move(d);
  return true;
}

}  // namespace

bool split_address(const std::string& text, std::string& host, std::uint16_t& port,
                   std::string& error) {
  port = 0;
  host_port_problem problem;
  const auto parts = split_host_port(text, problem);
  if (!parts) {
    error = problem == host_port_problem::unclosed_bracket ? "missing ] in " + text
                                                           : "bad port in " + text;
    return false;
  }
  host = std::string(parts->host);
  if (parts->bracketed) {
    if (parts->port) {
      const auto p = parse_port(*parts->port);
      if (!p) {
        error = "bad port in " + text;
        return false;
      }
      port = *p;
    }
    return !host.empty();
  }
  if (parts->port) {
    const auto p = parse_port(*parts->port);
    if (!p) {
      error = "bad port in " + text + " (want 1..65535)";
      return false;
    }
    port = *p;
  }
  if (host.empty() ||
      std::any_of(host.begin(), host.end(), [](char c) { return c == ' ' || c < 0x20; })) {
    error = "bad host in " + text;
    return false;
  }
  if (is_noncanonical_numeric_host(host)) {
    error = "host " + std::string(numeric_host_message);
    return false;
  }
  return true;
}

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
    p.config = std::make_shared<const config::exporter_config>(*loaded.config);
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

  if (!o.host.empty()) {
    if (is_noncanonical_numeric_host(o.host)) {
      error = "--host " + o.host + ": " + std::string(numeric_host_message);
      return false;
    }
    t.host = o.host;
  }
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
  if (!o.server_name.empty()) t.tls_config.edit().server_name = o.server_name;
  if (!o.ca_file.empty()) t.tls_config.edit().ca_file = o.ca_file;
  if (o.insecure_skip_verify) t.tls_config.edit().insecure_skip_verify = true;
  if (!o.ehlo_name.empty()) t.ehlo_name = o.ehlo_name;
  if (o.allow_plaintext) t.allow_plaintext = true;
  if (o.allow_unverified_credentials) t.allow_unverified_credentials = true;
  if (!o.timeout.empty()) {
    auto d = config::parse_duration(o.timeout);
    if (!d || d->count() <= 0) {
      error = "--timeout: want a duration such as 10s or 1500ms";
      return false;
    }
    // The deadline is now + timeout on a nanosecond clock: an unbounded value overflows it into
    // the past. Ten minutes is far past any SMTP server's own timeouts.
    if (*d > max_diagnose_timeout) {
      error = "--timeout: at most " + config::format_duration(max_diagnose_timeout);
      return false;
    }
    t.timeout = *d;
  }
  if (!o.ip_protocol.empty()) {
    if (o.ip_protocol != "any" && o.ip_protocol != "ip4" && o.ip_protocol != "ip6" &&
        o.ip_protocol != "both") {
      error = "--ip-protocol: want any, ip4, ip6 or both";
      return false;
    }
    t.ip_protocol = o.ip_protocol;
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
      error = "--auth-mechanism: want auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2 or OAUTHBEARER";
      return false;
    }
    if (!t.auth) {
      error = "--auth-mechanism needs credentials (--username and --password-file, ...)";
      return false;
    }
    t.auth->mechanism = *m;
  }
  // --mail-from with --deliver-to alone is the delivery's sender, not an envelope probe.
  if (!o.rcpt_to.empty() || (!o.mail_from.empty() && o.deliver_to.empty())) {
    config::envelope_settings envelope;
    envelope.mail_from = o.mail_from;
    envelope.rcpt_to = o.rcpt_to;
    if (envelope.mail_from.empty() && t.auth && !config::address_problem(t.auth->username)) {
      envelope.mail_from = t.auth->username;
    }
    if (envelope.rcpt_to.empty()) {
      error = "--mail-from needs --rcpt-to (the envelope probe sends both, never DATA)";
      return false;
    }
    if (envelope.mail_from.empty()) {
      error = "--rcpt-to needs --mail-from (the username is not an address)";
      return false;
    }
    for (const auto& [flag, address] : {std::pair{"--mail-from", envelope.mail_from},
                                        std::pair{"--rcpt-to", envelope.rcpt_to}}) {
      if (auto problem = config::address_problem(address)) {
        error = std::string(flag) + ": " + *problem;
        return false;
      }
    }
    t.envelope = envelope;
  }
  if (!plan_delivery(o, p, error)) return false;
  if (t.ip_protocol == "both") {
    if (t.delivery) {
      error = "--deliver-to sends one message: give --ip-protocol ip4 or ip6, not both";
      return false;
    }
    std::vector<port_plan> per_family;
    for (const auto& port : p.ports) {
      for (auto family : {config::ip_family::ipv4, config::ip_family::ipv6}) {
        per_family.push_back(port);
        per_family.back().family = family;
      }
    }
    p.ports = std::move(per_family);
  }
  return true;
}


config::target port_target(const plan& p, const port_plan& port) {
  config::target t = p.target;
  t.port = port.port;
  t.tls = port.mode;
  if (port.family != config::ip_family::none) {
    t.family = port.family;
    t.ip_protocol = port.family == config::ip_family::ipv4 ? "ip4" : "ip6";
  }
  return t;
}

std::array<bool, probes::probe_kind_count> probes_due(const plan& p, const port_plan& port) {
  return probes::applicable_probes(session_options_for(port_target(p, port)));
}

}  // namespace smtp_exporter::exporter
