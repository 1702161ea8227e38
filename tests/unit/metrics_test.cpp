#include "exporter/render/metrics.hpp"

#include <set>
#include <sstream>

#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

std::shared_ptr<const config::target> target(const std::string& name) {
  auto t = std::make_shared<config::target>();
  t->name = name;
  t->host = "mx.test";
  t->port = 587;
  t->probes = {true, true, false};
  t->interval = std::chrono::seconds(60);
  t->probe_interval = {t->interval, std::chrono::seconds(300), t->interval};
  t->labels = {{"team", "billing"}};
  return t;
}

std::string render(const metrics_collector& c) {
  std::ostringstream out;
  c.render(out);
  return out.str();
}

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(metrics, pending_targets_have_result_info_but_no_success_series) {
  status_store store;
  exporter_state state;
  store.set_targets({target("gmail")});
  metrics_collector c(store, state);
  auto text = render(c);
  EXPECT_TRUE(contains(text, R"(smtp_probe_result_info{target="gmail",probe="banner",result="pending",team="billing"} 1)"))
      << text;
  EXPECT_TRUE(contains(text, R"(smtp_probe_result_info{target="gmail",probe="tls",result="pending",team="billing"} 1)"));
  EXPECT_FALSE(contains(text, "smtp_probe_success{"));
  EXPECT_FALSE(contains(text, "smtp_reply_code{"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_runs_total{target="gmail",probe="banner",team="billing"} 0)"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_interval_seconds{target="gmail",probe="tls",team="billing"} 300)"));
  EXPECT_TRUE(contains(text, "smtp_exporter_targets 1"));
}

// Issue 24: the two families of a target with ip_protocol = "both" are two records under one
// name, each series labelled with its family; other targets have no such label.
TEST(metrics, both_families_render_apart_under_ip_family) {
  status_store store;
  exporter_state state;
  auto v4 = std::make_shared<config::target>(*target("dual"));
  v4->family = config::ip_family::ipv4;
  v4->ip_protocol = "ip4";
  auto v6 = std::make_shared<config::target>(*v4);
  v6->family = config::ip_family::ipv6;
  v6->ip_protocol = "ip6";
  std::shared_ptr<const config::target> dual_v4 = v4, dual_v6 = v6;
  store.set_targets({dual_v4, dual_v6, target("plain")});
  ASSERT_EQ(store.size(), 3u);
  probes::session_result ok, blocked;
  ok.probes[0] = {true, probes::failure_reason::none, 220, {}, false};
  ok.ip_protocol = 4;
  blocked.probes[0] = {true, probes::failure_reason::connect_timeout, 0, {}, false};
  store.record(dual_v4, ok, 1764500000);
  store.record(dual_v6, blocked, 1764500000);
  store.record(target("plain"), ok, 1764500000);  // a new config object: not recorded
  metrics_collector c(store, state);
  auto text = render(c);
  EXPECT_TRUE(contains(text, R"(smtp_probe_success{target="dual",ip_family="ipv4",probe="banner",team="billing"} 1)"))
      << text;
  EXPECT_TRUE(contains(text, R"(smtp_probe_success{target="dual",ip_family="ipv6",probe="banner",team="billing"} 0)"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_result_info{target="dual",ip_family="ipv6",probe="banner",result="connect_timeout",team="billing"} 1)"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_ip_protocol{target="dual",ip_family="ipv4",team="billing"} 4)"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_result_info{target="plain",probe="banner",result="pending",team="billing"} 1)"));
  EXPECT_FALSE(contains(text, R"(target="plain",ip_family)"));
  EXPECT_TRUE(contains(text, "smtp_exporter_targets 2\n")) << "a target counts once";
}

TEST(metrics, completed_run_renders_outcomes_and_counters) {
  status_store store;
  exporter_state state;
  auto t = target("qq");
  store.set_targets({t});
  probes::session_result r;
  r.probes[0] = {true, probes::failure_reason::banner_rejected, 554, {}, false};
  r.probes[1] = {true, probes::failure_reason::banner_rejected, 554, {}, false};
  r.set_phase(probes::phase::connect, 0.25);
  r.total_seconds = 0.5;
  store.record(t, r, 1700000000);
  store.record(t, r, 1700000060);
  metrics_collector c(store, state);
  auto text = render(c);
  EXPECT_TRUE(contains(text, R"(smtp_probe_success{target="qq",probe="banner",team="billing"} 0)")) << text;
  EXPECT_TRUE(contains(text, R"(smtp_probe_result_info{target="qq",probe="banner",result="banner_rejected",team="billing"} 1)"));
  EXPECT_TRUE(contains(text, R"(smtp_reply_code{target="qq",probe="tls",team="billing"} 554)"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_failures_total{target="qq",probe="banner",reason="banner_rejected",team="billing"} 2)"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_runs_total{target="qq",probe="banner",team="billing"} 2)"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_phase_duration_seconds{target="qq",phase="connect",team="billing"} 0.25)"));
  EXPECT_FALSE(contains(text, R"(phase="ehlo")"));
  EXPECT_TRUE(contains(text, R"(smtp_probe_last_run_timestamp_seconds{target="qq",probe="banner",team="billing"} 1700000060)"));
  // Exactly one result_info series per target and probe.
  std::size_t count = 0, pos = 0;
  while ((pos = text.find("smtp_probe_result_info{target=\"qq\",probe=\"banner\"", pos)) != std::string::npos) {
    ++count;
    ++pos;
  }
  EXPECT_EQ(count, 1u);
}

TEST(metrics, policy_refusal_and_enhanced_code_of_the_deciding_reply) {
  status_store store;
  exporter_state state;
  auto t = std::make_shared<config::target>(*target("relay"));
  t->probes = {true, false, false, true};
  store.set_targets({t});
  probes::session_result r;
  r.probes[0] = {true, probes::failure_reason::none, 220, {}, false};
  r.probes[3] = {true, probes::failure_reason::recipient_rejected, 550, "5.7.1", true};
  store.record(t, r, 1700000000);
  metrics_collector c(store, state);
  auto text = render(c);
  EXPECT_TRUE(contains(text, R"(smtp_probe_policy_rejected{target="relay",probe="envelope",team="billing"} 1)")) << text;
  EXPECT_TRUE(contains(text, R"(smtp_probe_policy_rejected{target="relay",probe="banner",team="billing"} 0)"));
  EXPECT_TRUE(contains(text, R"(smtp_reply_enhanced_status_info{target="relay",probe="envelope",code="5.7.1",team="billing"} 1)"));
  EXPECT_FALSE(contains(text, R"(smtp_reply_enhanced_status_info{target="relay",probe="banner")"))
      << "the greeting carried no enhanced code";
  EXPECT_TRUE(contains(text, R"(smtp_probe_result_info{target="relay",probe="envelope",result="recipient_rejected",team="billing"} 1)"));
  EXPECT_FALSE(contains(text, R"(probe="tls")")) << "a probe the target does not run has no series";
}

TEST(metrics, result_of_a_replaced_target_is_dropped) {
  status_store store;
  auto old_target = target("a");
  store.set_targets({old_target});
  auto new_target = target("a");
  store.set_targets({new_target});
  probes::session_result r;
  r.probes[0] = {true, probes::failure_reason::none, 220, {}, false};
  store.record(old_target, r, 1);
  EXPECT_FALSE(store.snapshot()[0].probes[0].has_result);
}

TEST(metrics, collect_matches_render_families) {
  status_store store;
  exporter_state state;
  store.set_targets({target("x")});
  metrics_collector c(store, state);
  auto families = c.Collect();
  std::set<std::string> names;
  for (const auto& f : families) names.insert(f.name);
  for (const char* n : {"smtp_probe_result_info", "smtp_exporter_build_info",
                        "smtp_exporter_config_last_reload_successful", "smtp_exporter_probes_in_flight",
                        "process_cpu_seconds_total", "process_open_fds"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
}

}  // namespace
}  // namespace smtp_exporter::exporter
