#include "probes/smtp/stages.hpp"

#include <array>
#include <stdexcept>

#include "probes/smtp/session_run.hpp"

namespace smtp_exporter::probes {
namespace detail {

// The registration: one entry per probe of common/probe_list.hpp, in session order, each
// `<name>_stage` defined in its stage_<name>.cpp (a probe without one fails to link). Each is
// constinit: the metrics' help is built from this table during static initialization.
#define SMTP_EXPORTER_PROBE(name) extern const stage name##_stage;
SMTP_EXPORTER_PROBES(SMTP_EXPORTER_PROBE)
#undef SMTP_EXPORTER_PROBE
extern const std::array<const stage*, probe_kind_count> registered{
#define SMTP_EXPORTER_PROBE(name) &name##_stage,
    SMTP_EXPORTER_PROBES(SMTP_EXPORTER_PROBE)
#undef SMTP_EXPORTER_PROBE
};

namespace {

std::array<stage_info, probe_kind_count> infos() {
  std::array<stage_info, probe_kind_count> out{};
  for (std::size_t i = 0; i < registered.size(); ++i) {
    // probe_kind's order is the table's order; a stage registered out of place is a bug that no
    // run could survive: building the table refuses it (the first stage_table() call, which
    // tests/unit/stages_test.cpp makes).
    if (static_cast<std::size_t>(registered[i]->info.probe) != i) {
      throw std::logic_error("stage table out of probe_kind order");
    }
    out[i] = registered[i]->info;
  }
  return out;
}

}  // namespace
}  // namespace detail

std::span<const stage_info> stage_table() {
  static const auto table = detail::infos();
  return table;
}

const stage_info& stage_of(probe_kind p) {
  return stage_table()[static_cast<std::size_t>(p) % probe_kind_count];
}

std::optional<probe_kind> stage_owning(failure_reason r) {
  for (const auto& s : stage_table()) {
    for (failure_reason owned : s.reasons) {
      if (owned == r) return s.probe;
    }
  }
  return std::nullopt;
}

std::array<bool, probe_kind_count> applicable_probes(const session_options& options) {
  std::array<bool, probe_kind_count> out{};
  for (const auto& s : stage_table()) out[static_cast<std::size_t>(s.probe)] = s.applies(options);
  return out;
}

probe_kind stage_owning(phase p) {
  for (const auto& s : stage_table()) {
    for (phase owned : s.phases) {
      if (owned == p) return s.probe;
    }
  }
  return probe_kind::banner;
}

}  // namespace smtp_exporter::probes
