#include "exporter/schedule/session_options.hpp"

#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {
namespace {

// The two probe lists cannot drift: a probe added to one and not the other stops the build here.
constexpr bool same_probe_lists() {
  if (config::probe_names.size() != probes::probe_kind_names.size()) return false;
  for (std::size_t i = 0; i < config::probe_names.size(); ++i) {
    if (config::probe_names[i] != probes::probe_kind_names[i]) return false;
  }
  return true;
}
static_assert(config::probe_count == probes::probe_kind_count);
static_assert(same_probe_lists(), "config::probe and probes::probe_kind must list the same probes");

probes::transport transport_for(config::tls_mode mode) {
  switch (mode) {
    case config::tls_mode::none: return probes::transport::plain;
    case config::tls_mode::implicit: return probes::transport::implicit_tls;
    case config::tls_mode::starttls: break;
  }
  return probes::transport::starttls;
}

}  // namespace

std::vector<config::target> family_targets(const config::target& target) {
  if (target.ip_protocol != "both") return {target};
  std::vector<config::target> out(2, target);
  out[0].ip_protocol = "ip4";
  out[0].family = config::ip_family::ipv4;
  out[1].ip_protocol = "ip6";
  out[1].family = config::ip_family::ipv6;
  return out;
}

probes::session_options session_options_for(const config::target& target) {
  probes::session_options o;
  o.host = target.host;
  o.port = target.port;
  o.mode = transport_for(target.tls);
  o.ehlo_name = target.ehlo_name;
  o.timeout = target.timeout;
  o.ip_protocol = target.ip_protocol == "ip4" ? 4 : target.ip_protocol == "ip6" ? 6 : 0;
  o.server_name = target.tls_config->server_name;
  o.min_tls_version = probes::tls_version_from_name(target.tls_config->min_version);
  o.insecure_skip_verify = target.tls_config->insecure_skip_verify;
  o.allow_plaintext = target.allow_plaintext;
  o.allow_unverified_credentials = target.allow_unverified_credentials;
  if (target.auth) {
    const auto& a = *target.auth;
    probes::auth_options auth;
    auth.credentials = {a.username, a.password_file, a.password_env, a.password, a.token_file};
    switch (a.mechanism) {
      case config::auth_mechanism::automatic: break;
      case config::auth_mechanism::plain: auth.mechanism = probes::sasl_mechanism::plain; break;
      case config::auth_mechanism::login: auth.mechanism = probes::sasl_mechanism::login; break;
      case config::auth_mechanism::cram_md5: auth.mechanism = probes::sasl_mechanism::cram_md5; break;
      case config::auth_mechanism::xoauth2: auth.mechanism = probes::sasl_mechanism::xoauth2; break;
      case config::auth_mechanism::oauthbearer:
        auth.mechanism = probes::sasl_mechanism::oauthbearer;
        break;
    }
    o.auth = std::move(auth);
  }
  if (target.envelope) {
    o.envelope = probes::envelope_options{target.envelope->mail_from, target.envelope->rcpt_to};
  }
  if (target.delivery) {
    o.delivery = probes::delivery_options{target.delivery->from, target.delivery->to, target.name};
  }
  return o;
}

void bind_token(probes::session_options& options, const oauth_binding& binding) {
  if (!options.auth || binding.empty()) return;
  options.auth->token = binding.source;
  options.auth->token_setup_error = binding.setup_error;
}

}  // namespace smtp_exporter::exporter
