// The stages of an SMTP session, in order: what the session runs, and what the status page,
// diagnose and the metrics read (probe names, order, phases), so a new stage needs no edit there.
//
// Adding a stage: a value in probe_kind (probes/core/result.hpp) and config::probe, its phases in
// phase, one file probes/stage_<name>.cpp defining it, one line in probes/smtp/stages.cpp.
//
// Thread-safety: the table is immutable.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "probes/core/result.hpp"

namespace smtp_exporter::probes {

struct stage_info {
  probe_kind probe;
  std::span<const phase> phases;  // the phases this stage times, in session order
  std::string_view checks;        // what the probe checks, one line for humans
};

// Every stage, in session order; stage_table()[i].probe == probe_kind(i).
std::span<const stage_info> stage_table();
const stage_info& stage_of(probe_kind p);
// The stage whose phases include `p`.
probe_kind stage_owning(phase p);

}  // namespace smtp_exporter::probes
