// The config -> session adapter: what a validated target means for one SMTP session. Used by the
// scheduler and by diagnose; lives here, not in either, because both need it.
#pragma once

#include "config/config.hpp"
#include "probes/smtp/session.hpp"

namespace smtp_exporter::exporter {

// Maps a validated target to the options of one session (the probes due are set per run; the
// TLS context is loaded by the caller).
probes::session_options session_options_for(const config::target& target);

// config::probe and probes::probe_kind are made from one list (common/probe_list.hpp): the same
// index is the same probe.
inline probes::probe_kind probe_kind_of(config::probe p) {
  return static_cast<probes::probe_kind>(static_cast<std::size_t>(p));
}

}  // namespace smtp_exporter::exporter
