#include "probes/smtp/stages.hpp"

#include <array>
#include <stdexcept>

#include "probes/smtp/session_run.hpp"

namespace smtp_exporter::probes {
namespace detail {

// The registration: one entry per stage, in session order (each defined in its stage_*.cpp).
extern const stage banner_stage, tls_stage, auth_stage, envelope_stage;
extern const std::array<const stage*, probe_kind_count> registered{
    &banner_stage, &tls_stage, &auth_stage, &envelope_stage,
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

probe_kind stage_owning(phase p) {
  for (const auto& s : stage_table()) {
    for (phase owned : s.phases) {
      if (owned == p) return s.probe;
    }
  }
  return probe_kind::banner;
}

}  // namespace smtp_exporter::probes
