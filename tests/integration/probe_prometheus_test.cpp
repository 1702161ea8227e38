// /probe driven by a real Prometheus, configured as blackbox_exporter's README shows: the scrape
// job lists the SMTP servers, relabelling moves each into the `target` parameter and `instance`,
// and points __address__ at the exporter. The probed servers' series must arrive under the
// relabelled labels, and Prometheus' own scrape-timeout header must bring a tarpit's answer back
// before Prometheus gives up.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "tests/support/harness.hpp"
#include "tests/support/prometheus.hpp"

namespace smtp_test {
namespace {

// instance -> the series' labels and value.
struct series {
  std::map<std::string, std::string> labels;
  double value = 0;
};
std::map<std::string, series> by_instance(const prometheus_api_result& r) {
  std::map<std::string, series> out;
  for (const auto& s : prometheus_result(r)) {
    series one;
    for (const auto& [k, v] : s.at("metric").as_object())
      one.labels[std::string(k)] = prometheus_label(s, std::string(k));
    one.value = prometheus_value(s);
    out[one.labels["instance"]] = std::move(one);
  }
  return out;
}

// The series of `expr` by instance; `error` keeps the last failure.
std::map<std::string, series> query(prometheus_server& prom, const std::string& expr,
                                    std::string& error) {
  auto r = prom.query(expr);
  if (!r.ok) error = r.error;
  return by_instance(r);
}

TEST(probe_prometheus, relabelled_probe_targets_arrive_with_their_labels) {
  ASSERT_TRUE(fs::exists("/usr/bin/prometheus"))
      << "needs Debian's prometheus package (scripts/install-deps.sh --test)";
  temp_dir dir;
  std::uint16_t healthy = 0, blocked = 0, tarpit = 0;
  auto healthy_peer = start_aiosmtpd(dir, healthy);
  auto blocked_peer = start_fake_smtp(dir, "greeting_554", blocked);
  auto tarpit_peer = start_fake_smtp(dir, "tarpit", tarpit);
  ASSERT_TRUE(healthy != 0 && blocked != 0 && tarpit != 0);

  // The module's 30 s timeout is far beyond Prometheus' 2 s: only the header can save the tarpit.
  exporter_process exporter(dir, R"(
[module.smtp_banner]
tls = "none"
probes = ["banner"]
timeout = "30s"
allowed_hosts = ["localhost", "127.0.0.1"]
allowed_ports = [)" + std::to_string(healthy) +
                                     ", " + std::to_string(blocked) + ", " +
                                     std::to_string(tarpit) + R"(]
)");
  ASSERT_TRUE(exporter.started()) << exporter.process().log();

  const std::string healthy_target = "127.0.0.1:" + std::to_string(healthy);
  const std::string blocked_target = "localhost:" + std::to_string(blocked);
  const std::string tarpit_target = "127.0.0.1:" + std::to_string(tarpit);
  const std::string refused_target = "127.0.0.1:25";  // not in allowed_ports: a 400, never probed
  prometheus_server prom(dir, R"(global:
  scrape_interval: 2s
  scrape_timeout: 2s
scrape_configs:
  - job_name: smtp_probe
    metrics_path: /probe
    params:
      module: [smtp_banner]
    static_configs:
      - targets: [')" + healthy_target +
                                  "', '" + blocked_target + "', '" + tarpit_target + "', '" +
                                  refused_target + R"(']
        labels:
          team: mail
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:)" +
                                  std::to_string(exporter.port()) + "\n");
  ASSERT_TRUE(prom.started()) << prom.log();

  // Wait until every target has been scraped at least once (the tarpit takes 1.5 s per scrape).
  std::string error;
  std::map<std::string, series> up;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < deadline) {
    up = query(prom, "up{job=\"smtp_probe\"}", error);
    if (up.size() == 4) break;
    std::this_thread::sleep_for(500ms);
  }
  ASSERT_EQ(up.size(), 4u) << error << "\n" << prom.log();
  EXPECT_EQ(up[healthy_target].value, 1);
  EXPECT_EQ(up[blocked_target].value, 1);
  EXPECT_EQ(up[tarpit_target].value, 1) << "the tarpit's answer came after Prometheus gave up";
  EXPECT_EQ(up[refused_target].value, 0) << "a 400 is a failed scrape";

  auto success = query(prom, "smtp_probe_success{job=\"smtp_probe\"}", error);
  ASSERT_EQ(success.size(), 3u) << error;
  const std::pair<std::string, double> expected[] = {
      {healthy_target, 1}, {blocked_target, 0}, {tarpit_target, 0}};
  for (const auto& [target, value] : expected) {
    const auto& s = success[target];
    EXPECT_EQ(s.value, value) << target;
    EXPECT_EQ(s.labels.at("target"), target) << "the exporter's target label is the requested one";
    EXPECT_EQ(s.labels.at("instance"), target);
    EXPECT_EQ(s.labels.at("job"), "smtp_probe");
    EXPECT_EQ(s.labels.at("team"), "mail") << "labels from service discovery are kept";
    EXPECT_EQ(s.labels.at("probe"), "banner");
  }

  auto reasons = query(prom, "smtp_probe_result_info{job=\"smtp_probe\"}", error);
  EXPECT_EQ(reasons[healthy_target].labels["result"], "success") << error;
  EXPECT_EQ(reasons[blocked_target].labels["result"], "banner_rejected");
  EXPECT_EQ(reasons[tarpit_target].labels["result"], "banner_timeout");

  // docs/metrics.md's "three failed runs in a row" for /probe jobs (2 s scrapes: 6 s).
  auto down =
      query(prom,
            "max without (probe) (max_over_time(smtp_probe_success{job=\"smtp_probe\"}[6s]))"
            " == 0",
            error);
  EXPECT_EQ(down.size(), 2u) << error;
  EXPECT_EQ(down.count(blocked_target), 1u);
  EXPECT_EQ(down.count(tarpit_target), 1u);

  // The tarpit's session was cut at 2 s minus the 0.5 s margin.
  auto duration = query(prom, "smtp_probe_duration_seconds{job=\"smtp_probe\"}", error);
  EXPECT_GE(duration[tarpit_target].value, 1.4) << error;
  EXPECT_LE(duration[tarpit_target].value, 1.6);
}

}  // namespace
}  // namespace smtp_test
