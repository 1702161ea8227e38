// Sharding over replicas, through the real binary: three exporters given the same 1,000-target
// file and --shard.count 3 export every target exactly once between them; the same file over four
// replicas moves only the targets the fourth one takes. Targets are .invalid names, so no packet
// leaves the machine (resolution fails at once).
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "tests/support/harness.hpp"
#include "tests/support/prometheus.hpp"

namespace {

using namespace smtp_test;
using name_set = std::set<std::string>;

std::string thousand_targets() {
  std::string toml = "[defaults]\ninterval = \"60s\"\ntimeout = \"2s\"\n";
  for (int i = 0; i < 1000; ++i) {
    toml += "[[target]]\nname = \"t" + std::to_string(i) + "\"\nhost = \"t" + std::to_string(i) +
            ".invalid\"\nport = 25\nprobes = [\"banner\"]\n";
  }
  return toml;
}

// The targets an exporter exports: one smtp_probe_result_info{probe="banner"} series each.
name_set exported_targets(const std::string& text) {
  name_set out;
  std::istringstream in(text);
  std::string line;
  const std::string prefix = "smtp_probe_result_info{target=\"";
  while (std::getline(in, line)) {
    if (!line.starts_with(prefix) || line.find("probe=\"banner\"") == std::string::npos) continue;
    auto end = line.find('"', prefix.size());
    out.insert(line.substr(prefix.size(), end - prefix.size()));
  }
  return out;
}

struct replica_set {
  std::vector<std::unique_ptr<temp_dir>> dirs;
  std::vector<std::unique_ptr<exporter_process>> replicas;
};

replica_set start_replicas(std::uint32_t count) {
  replica_set set;
  auto& [dirs, replicas] = set;
  for (std::uint32_t i = 0; i < count; ++i) {
    dirs.push_back(std::make_unique<temp_dir>());
    replicas.push_back(std::make_unique<exporter_process>(
        *dirs.back(), thousand_targets(),
        std::vector<std::string>{"--shard.count", std::to_string(count), "--shard.index",
                                 std::to_string(i)}));
  }
  return set;
}

// Starts `count` replicas on the same file and returns each one's exported targets.
std::vector<name_set> run_replicas(std::uint32_t count) {
  auto set = start_replicas(count);
  auto& replicas = set.replicas;
  std::vector<name_set> out;
  for (std::uint32_t i = 0; i < count; ++i) {
    EXPECT_TRUE(replicas[i]->started()) << replicas[i]->process().log();
    auto text = replicas[i]->scrape();
    EXPECT_EQ(metric_value(text, "smtp_exporter_shard_info",
                           {{"index", std::to_string(i)}, {"count", std::to_string(count)}}),
              1.0);
    EXPECT_EQ(metric_value(text, "smtp_exporter_configured_targets", {}), 1000.0);
    auto mine = exported_targets(text);
    EXPECT_EQ(metric_value(text, "smtp_exporter_targets", {}), static_cast<double>(mine.size()));
    out.push_back(std::move(mine));
  }
  return out;
}

TEST(shard, three_replicas_export_every_target_exactly_once_and_a_fourth_moves_a_quarter) {
  auto three = run_replicas(3);
  ASSERT_EQ(three.size(), 3u);
  std::map<std::string, int> owner;
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(three[i].size(), 250u) << "replica " << i << " has too small a share";
    for (const auto& t : three[i]) {
      EXPECT_EQ(owner.count(t), 0u) << t << " exported by replicas " << owner[t] << " and " << i;
      owner[t] = i;
    }
  }
  EXPECT_EQ(owner.size(), 1000u) << "the union of the replicas' targets is not every target";

  auto four = run_replicas(4);
  ASSERT_EQ(four.size(), 4u);
  std::size_t moved = 0, total = 0;
  for (int i = 0; i < 4; ++i) {
    total += four[i].size();
    for (const auto& t : four[i]) {
      if (owner.count(t) && owner[t] != i) ++moved;
    }
  }
  EXPECT_EQ(total, 1000u);
  EXPECT_LE(moved, 350u) << "going from 3 to 4 replicas moved " << moved << " of 1000 targets";
}

// What users see: one Prometheus job scraping every replica has each target's series once.
TEST(shard, a_real_prometheus_scraping_three_replicas_sees_every_target_once) {
  auto set = start_replicas(3);
  std::vector<std::uint16_t> ports;
  for (const auto& r : set.replicas) {
    ASSERT_TRUE(r->started()) << r->process().log();
    ports.push_back(r->port());
  }
  temp_dir dir;
  prometheus_server prom(dir, ports, "smtp_exporter");
  ASSERT_TRUE(prom.started()) << prom.log();
  const std::string per_target =
      "count by (target) (smtp_probe_result_info{job=\"smtp_exporter\",probe=\"banner\"})";
  double targets = 0, worst = 0, instances = 0;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    auto n = prom.query("count(" + per_target + ")");
    auto max = prom.query("max(" + per_target + ")");
    auto up = prom.query("count(up{job=\"smtp_exporter\"} == 1)");
    if (n.ok && max.ok && up.ok && !prometheus_result(n).empty() && !prometheus_result(up).empty()) {
      targets = prometheus_value(prometheus_result(n)[0]);
      worst = prometheus_value(prometheus_result(max)[0]);
      instances = prometheus_value(prometheus_result(up)[0]);
      if (targets == 1000 && instances == 3) break;
    }
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(instances, 3.0) << prom.log();
  EXPECT_EQ(targets, 1000.0) << "distinct targets seen through Prometheus";
  EXPECT_EQ(worst, 1.0) << "a target's series came from more than one replica";
  auto sum = prom.query("sum(smtp_exporter_targets{job=\"smtp_exporter\"})");
  ASSERT_TRUE(sum.ok && !prometheus_result(sum).empty()) << sum.error;
  EXPECT_EQ(prometheus_value(prometheus_result(sum)[0]), 1000.0);
}

TEST(shard, index_from_the_statefulset_host_name) {
  if (std::system("unshare -u true >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "needs unshare -u (root) to give the exporter a pod-like host name";
  }
  temp_dir dir;
  auto config = dir.write("smtp_exporter.toml", thousand_targets());
  auto port = unused_port();
  child_process exporter(
      {"/usr/bin/unshare", "-u", "/bin/sh", "-c",
       "hostname smtp-exporter-2 && exec \"$0\" \"$@\"", exporter_binary().string(),
       "--config.file", config.string(), "--web.listen-address",
       "127.0.0.1:" + std::to_string(port), "--shard.count", "3", "--shard.index-from-hostname"},
      dir.path() / "exporter.log");
  http_reply reply;
  for (int i = 0; i < 200 && exporter.running(); ++i) {
    reply = http_request(port, "GET", "/metrics", 1s);
    if (reply.status == 200) break;
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_EQ(reply.status, 200) << exporter.log();
  EXPECT_EQ(metric_value(reply.body, "smtp_exporter_shard_info", {{"index", "2"}, {"count", "3"}}),
            1.0);
  // The status page says which share it shows.
  auto page = http_request(port, "GET", "/", 5s);
  EXPECT_NE(page.body.find("Shard 2 of 3"), std::string::npos);
}

TEST(shard, bad_flags_are_refused_with_the_flag_named) {
  temp_dir dir;
  auto config = dir.write("smtp_exporter.toml", thousand_targets());
  child_process exporter({exporter_binary().string(), "--config.file", config.string(),
                          "--web.listen-address", "127.0.0.1:" + std::to_string(unused_port()),
                          "--shard.count", "3", "--shard.index", "3"},
                         dir.path() / "exporter.log");
  EXPECT_EQ(exporter.wait_exit(10s), 1);
  EXPECT_NE(exporter.log().find("--shard.index (3) must be below --shard.count (3)"),
            std::string::npos)
      << exporter.log();
}

}  // namespace
