// append_exposition_text writes exactly what prometheus-cpp's TextSerializer writes, value by
// value and for a whole scrape, so replacing the serializer changes no byte of /metrics.
#include "exporter/render/exposition_text.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "exporter/render/metrics.hpp"

namespace smtp_exporter::exporter {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

std::string with_prometheus_cpp(const std::vector<MetricFamily>& families) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, families);
  return out.str();
}

std::string with_ours(const std::vector<MetricFamily>& families) {
  std::string out;
  for (const auto& f : families) append_exposition_text(out, f);
  return out;
}

TEST(exposition_text, values_labels_and_timestamps_match_text_serializer) {
  const double values[] = {0, -0.0, 1, -1, 0.1 + 0.2, 1.0 / 3, 1e-7, 2.5e-5, 0.00129, 1.5,
                           1764500000.5, 1e15, 1e16, 1e21, 123456789012345678.0,
                           9007199254740993.0, std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest(), std::nan(""),
                           std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  std::vector<MetricFamily> families;
  for (auto type : {MetricType::Gauge, MetricType::Counter, MetricType::Untyped}) {
    MetricFamily f{"smtp_test_value", type == MetricType::Gauge ? "Help text, with \"quotes\"." : "",
                   type, {}};
    for (double v : values) {
      ClientMetric m;
      m.label = {{"target", "a\\b\"c\nd"}, {"cn", "Ünïcode ✓"}, {"empty", ""}};
      m.gauge.value = m.counter.value = m.untyped.value = v;
      f.metric.push_back(m);
    }
    ClientMetric bare;
    bare.gauge.value = bare.counter.value = bare.untyped.value = 42;
    bare.timestamp_ms = 1764500000123;
    f.metric.push_back(bare);
    families.push_back(f);
  }
  // Types written by prometheus-cpp itself.
  MetricFamily histogram{"smtp_test_histogram", "h", MetricType::Histogram, {}};
  ClientMetric h;
  h.histogram.sample_count = 3;
  h.histogram.sample_sum = 0.75;
  h.histogram.bucket = {{1, 0.5}, {3, 1.0}};
  histogram.metric.push_back(h);
  families.push_back(histogram);
  EXPECT_EQ(with_ours(families), with_prometheus_cpp(families));
}

std::shared_ptr<const config::target> target(const std::string& name, bool tls) {
  auto t = std::make_shared<config::target>();
  t->name = name;
  t->host = "mx.test";
  t->port = tls ? 465 : 25;
  t->tls = tls ? config::tls_mode::implicit : config::tls_mode::none;
  t->probes = {true, tls, false};
  t->interval = std::chrono::seconds(60);
  t->probe_interval = {t->interval, std::chrono::seconds(300), t->interval};
  t->labels = {{"team", "bill\"ing"}};
  return t;
}

// The families Collect() returns, minus empty ones (render() skips those) and the process_*
// ones (their values move between two calls).
std::vector<MetricFamily> comparable(std::vector<MetricFamily> families) {
  std::erase_if(families, [](const MetricFamily& f) {
    return f.metric.empty() || f.name.starts_with("process_");
  });
  return families;
}

std::string without_process_metrics(const std::string& text) {
  return text.substr(0, text.find("# HELP process_"));
}

TEST(exposition_text, a_whole_scrape_matches_text_serializer) {
  status_store store;
  exporter_state state;
  auto plain = target("plain", false);
  auto tls = target("tls", true);
  auto pending = target("pending", true);
  // One family of a target with ip_protocol = "both": its ip_family label after target.
  auto v6 = std::make_shared<config::target>(*target("dual", true));
  v6->ip_protocol = "ip6";
  v6->family = config::ip_family::ipv6;
  std::shared_ptr<const config::target> dual_v6 = v6;
  store.set_targets({plain, tls, pending, dual_v6});
  probes::session_result r;
  r.probes[0] = {true, probes::failure_reason::none, 220, {}, false};
  r.set_phase(probes::phase::connect, 0.000123456789);
  r.set_phase(probes::phase::banner, 1.0 / 3);
  r.total_seconds = 0.1 + 0.2;
  r.ehlo_seen = true;
  r.ip_protocol = 6;
  store.record(plain, r, 1764500000.25);
  r.probes[1] = {true, probes::failure_reason::cert_expired, 220, {}, false};
  r.tls_seen = true;
  r.tls.version = "TLSv1.2";
  r.tls.cipher = "ECDHE-RSA-AES128-GCM-SHA256";
  r.tls.chain = {{0, "mx \"quoted\" \\ cn", "Issuer\nCA", 1700000000, 1710000000.5}};
  r.tls.chain_length = 1;
  r.tls.ocsp_stapled = true;
  r.tls.ocsp = probes::ocsp_status::revoked;
  r.tls.ocsp_next_update = 1764600000;
  store.record(tls, r, 1764500001);
  store.record(tls, r, 1764500061);
  store.record(dual_v6, r, 1764500062);
  metrics_collector collector(store, state);
  auto ours = without_process_metrics(collector.render());
  auto reference = with_prometheus_cpp(comparable(collector.Collect()));
  EXPECT_EQ(ours, reference);
  EXPECT_NE(ours.find("smtp_tls_ocsp_status_info"), std::string::npos);
  EXPECT_NE(ours.find("smtp_probe_success{target=\"dual\",ip_family=\"ipv6\",probe=\"banner\","),
            std::string::npos)
      << ours;
}

}  // namespace
}  // namespace smtp_exporter::exporter
