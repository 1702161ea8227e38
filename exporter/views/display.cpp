#include "exporter/views/display.hpp"

#include <cstdio>

#include "config/presets.hpp"

namespace smtp_exporter::exporter::display {

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", s);
  return buf;
}

std::string_view tls_mode(config::tls_mode mode) {
  switch (mode) {
    case config::tls_mode::none: return "plain";
    case config::tls_mode::starttls: return "STARTTLS";
    case config::tls_mode::implicit: return "implicit TLS";
  }
  return "";
}

std::string_view step(probes::phase p) {
  switch (p) {
    case probes::phase::banner: return "greeting";
    case probes::phase::tls_handshake: return "tls";
    case probes::phase::mail_from: return "mail from";
    case probes::phase::rcpt_to: return "rcpt to";
    default: return probes::to_string(p);
  }
}

expiry expiry_of(long days_left) {
  if (days_left < 0) return expiry::expired;
  return days_left < expiry_warning_days ? expiry::soon : expiry::ok;
}

namespace {

// The first of `results` (one per probe kind, in session order) that `has_result` and failed.
template <typename Results, typename HasResult>
std::optional<failure> first_failed(const Results& results, HasResult has_result) {
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    const auto& p = results[i];
    if (!has_result(p) || p.reason == probes::failure_reason::none) continue;
    return failure{static_cast<probes::probe_kind>(i), p.reason, p.reply_code, p.enhanced_code,
                   p.policy_rejected};
  }
  return std::nullopt;
}

}  // namespace

std::optional<failure> first_failure(const target_status& t) {
  return first_failed(t.probes, [](const probe_status& p) { return p.has_result; });
}

std::optional<failure> first_failure(const probes::session_result& r) {
  return first_failed(r.probes, [](const auto& o) { return o.ran; });
}

advice_context advice_context_for(const config::target& t, std::uint16_t port,
                                  config::tls_mode mode, const failure& f) {
  advice_context c;
  c.reason = f.reason;
  c.host = t.host;
  c.port = port;
  c.mode = mode;
  c.server_name = t.tls_config->server_name;
  c.provider = t.provider.empty() ? nullptr : config::find_provider(t.provider);
  c.reply_code = f.reply_code;
  c.enhanced_code = f.enhanced_code;
  c.policy_rejected = f.policy_rejected;
  c.openssl_version = openssl_version();
  return c;
}

}  // namespace smtp_exporter::exporter::display
