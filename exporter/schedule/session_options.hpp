// The config -> session adapter: what a validated target means for one SMTP session. Used by the
// scheduler and by diagnose; lives here, not in either, because both need it.
#pragma once

#include <vector>

#include "config/config.hpp"
#include "probes/smtp/session.hpp"

namespace smtp_exporter::exporter {

// The targets one config target runs as: itself; or, for ip_protocol = "both", one copy per
// address family, IPv4 first, with ip_protocol "ip4" or "ip6" and `family` set (its results carry
// the ip_family label). A host with addresses of one family only then fails in the other as
// resolve_failed ("no IPv6 address"), which is what "both" asks to see.
std::vector<config::target> family_targets(const config::target& target);

// Maps a validated target to the options of one session (the probes due are set per run; the
// TLS context and the OAuth token source are made by the caller, at load).
probes::session_options session_options_for(const config::target& target);

// A target's (or module's) [auth.oauth2] token source, made at load (exporter/app/oauth_tokens.hpp)
// and shared by every target with the same credential set; or why none could be made.
struct oauth_binding {
  std::shared_ptr<probes::oauth::token_source> source;
  std::string setup_error;  // e.g. "cannot read client_secret_file /x: …"; never a secret
  bool empty() const { return !source && setup_error.empty(); }
};
// Puts the binding into the options' auth (no-op without auth or binding).
void bind_token(probes::session_options& options, const oauth_binding& binding);

// config::probe and probes::probe_kind are made from one list (common/probe_list.hpp): the same
// index is the same probe.
inline probes::probe_kind probe_kind_of(config::probe p) {
  return static_cast<probes::probe_kind>(static_cast<std::size_t>(p));
}

}  // namespace smtp_exporter::exporter
