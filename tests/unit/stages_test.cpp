// The stage table is what the session, diagnose, the status page and the metrics iterate: it must
// list every probe once, in probe_kind order, and every phase must belong to exactly one stage.
#include "probes/smtp/stages.hpp"

#include <gtest/gtest.h>

#include <map>

namespace smtp_exporter::probes {
namespace {

TEST(stages, one_per_probe_in_probe_kind_order) {
  const auto table = stage_table();
  ASSERT_EQ(table.size(), probe_kind_count);
  for (std::size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(table[i].probe), i);
    EXPECT_FALSE(table[i].phases.empty()) << to_string(table[i].probe);
    EXPECT_FALSE(table[i].checks.empty()) << to_string(table[i].probe);
    EXPECT_EQ(&stage_of(table[i].probe), &table[i]);
  }
}

TEST(stages, every_phase_belongs_to_exactly_one_stage) {
  std::map<phase, int> owners;
  for (const auto& s : stage_table()) {
    for (phase p : s.phases) ++owners[p];
  }
  for (std::size_t i = 0; i < phase_count; ++i) {
    const auto p = static_cast<phase>(i);
    EXPECT_EQ(owners[p], 1) << to_string(p);
  }
  EXPECT_EQ(stage_owning(phase::rcpt_to), probe_kind::envelope);
  EXPECT_EQ(stage_owning(phase::tls_handshake), probe_kind::tls);
  EXPECT_EQ(stage_owning(phase::quit), probe_kind::banner);
}

TEST(stages, phase_times_start_as_not_run) {
  for (double s : not_run_phases()) EXPECT_LT(s, 0);
  session_result r;
  for (double s : r.phase_seconds) EXPECT_LT(s, 0);
}

}  // namespace
}  // namespace smtp_exporter::probes
