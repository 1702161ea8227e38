// The stages of an SMTP session, in order: what the session runs, and what the status page,
// diagnose, the advice and the metrics read (probe names, order, phases, the reasons a stage owns,
// the reply that decides it), so those iterate this table instead of naming stages.
//
// Adding a stage (say `delivery`) touches, in code:
// - common/probe_list.hpp: its line (probe_kind, config::probe and the registration follow);
// - probes/smtp/stage_delivery.cpp: the stage, `const stage delivery_stage{info, wanted, run}`
//   whose stage_info below carries its phases, reasons, deciding reply and `applies`;
// - probes/core/result.hpp: its phases in `phase` (if it times new steps) and its new reasons in
//   SMTP_EXPORTER_FAILURE_REASONS; probes/core/verdicts.{hpp,cpp}: the rows deciding them;
// - exporter/views/advice.cpp: its row in stage_rows (class name, diagnose exit code) and a row
//   per new reason in reason_rows (headline, advice): static_asserts refuse a missing row;
// - its settings, if it has any: config/config.hpp (the struct), config/detail/loader.hpp's key
//   table and config/targets.cpp (keys, the per-probe interval key), probes/smtp/session.hpp
//   (the option), exporter/schedule/session_options.cpp (the mapping), and diagnose's flags
//   (exporter/cli/main.cpp, diagnose.hpp, diagnose_plan.cpp) and plan line (diagnose_report.cpp's
//   print_header).
// Nothing else names a stage: the session, metrics and their help, the status page, diagnose's
// probes, exit codes and report iterate this table; tests/unit/stage_mirrors_test.cpp fails when a
// mirror lacks a stage (and docs/diagnose.md must list its exit code).
//
// Thread-safety: the table is immutable.
#pragma once

#include <array>
#include <optional>
#include <span>
#include <string_view>

#include "probes/core/result.hpp"

namespace smtp_exporter::probes {

struct session_options;

struct stage_info {
  probe_kind probe;
  std::span<const phase> phases;  // the phases this stage times, in session order
  std::string_view checks;        // what the probe checks, one line for humans
  // The reasons only this stage records: a failure with one of them is this stage's failure
  // (diagnose's exit code), whichever probe it was recorded for. Reasons before any SMTP (resolve,
  // connect) and the generic ones (generic_reasons) belong to no stage.
  std::span<const failure_reason> reasons;
  // The reply whose code decides this probe, for smtp_reply_code's help: "the final AUTH reply".
  std::string_view deciding_reply;
  // Whether `options` carry what this stage needs to run (credentials, addresses, a TLS mode):
  // what diagnose runs when no list of probes is given.
  bool (*applies)(const session_options& options);
};

// Reasons any stage can end with (the server closed, stalled or spoke no SMTP): they take the
// class of the probe that failed with them.
inline constexpr failure_reason generic_reasons[] = {
    failure_reason::connection_closed, failure_reason::protocol_error, failure_reason::timeout};

// Every stage, in session order; stage_table()[i].probe == probe_kind(i).
std::span<const stage_info> stage_table();
const stage_info& stage_of(probe_kind p);
// The stage whose phases include `p`.
probe_kind stage_owning(phase p);
// The stage whose `reasons` include `r`; nullopt for success, the reasons before any SMTP and the
// generic ones.
std::optional<probe_kind> stage_owning(failure_reason r);
// The probes whose stage applies to `options`, indexed by probe_kind.
std::array<bool, probe_kind_count> applicable_probes(const session_options& options);

}  // namespace smtp_exporter::probes
