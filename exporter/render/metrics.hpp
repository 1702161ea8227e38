// Makes every metric family at scrape time from the status_store's compact per-target records,
// so the exporter holds no per-series objects between scrapes. render() writes the per-target
// families' text straight from the records, series by series (no prometheus-cpp objects, so a
// scrape's memory is its text); Collect() builds the same families as prometheus-cpp objects from
// the same definitions, the reference the text is checked against
// (tests/unit/exposition_text_test.cpp).
//
// Thread-safety: Collect() and render() may run on any thread, concurrently with probes.
#pragma once

#include <atomic>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include "exporter/schedule/target_status.hpp"

namespace smtp_exporter::exporter {

// The web server's connections (http_server::counters), as scrapes report them.
struct web_connection_stats {
  double open = 0;
  double evicted = 0;          // closed to make room: idle, or sending its request
  double refused = 0;          // refused: every connection was being answered
  double header_timeouts = 0;  // closed at the header deadline (silent or trickling clients)
  double slow_reader = 0;      // closed to make room: its client stopped reading its response
};

// The exporter's own state that scrapes report.
struct exporter_state {
  std::atomic<bool> config_last_reload_successful{false};
  std::atomic<double> config_last_reload_success_timestamp{0};
  // Sharding (--shard.*): this replica's share, and how many targets the file configures in all.
  std::uint32_t shard_index = 0;
  std::uint32_t shard_count = 1;
  std::atomic<std::size_t> configured_targets{0};
  std::function<std::size_t()> probes_in_flight = [] { return std::size_t{0}; };
  std::function<web_connection_stats()> web_connections = [] { return web_connection_stats{}; };
  // Families of checks that are not SMTP sessions (DNSBL: exporter/dnsbl/metrics.cpp).
  std::function<std::vector<prometheus::MetricFamily>()> check_families = [] {
    return std::vector<prometheus::MetricFamily>{};
  };
};

// Appends one series to `family`: its counter or its gauge value, by the family's type.
void add_series(prometheus::MetricFamily& family,
                std::vector<prometheus::ClientMetric::Label> labels, double value);

class metrics_collector : public prometheus::Collectable {
 public:
  metrics_collector(const status_store& store, const exporter_state& state);

  std::vector<prometheus::MetricFamily> Collect() const override;
  // The text exposition format; equivalent to serializing Collect(), with less memory and time.
  std::string render() const;
  void render(std::ostream& out) const;
  // The same text in pieces (a family or more each), as it is made: for a compressing writer, so
  // the whole text never has to exist at once.
  void render_pieces(const std::function<void(std::string_view)>& write) const;

 private:
  const status_store& store_;
  const exporter_state& state_;
  // Appends each family to `out`, calling family_done(out) after each (which may consume it).
  void render_into(std::string& out, const std::function<void(std::string&)>& family_done) const;

  mutable std::atomic<std::size_t> last_size_{0};  // bytes of the last render, to reserve
};

// The per-target families of one /probe run in the text format: the same names, labels
// and reasons as /metrics, without smtp_probe_runs_total, smtp_probe_failures_total,
// smtp_probe_consecutive_failures and smtp_probe_interval_seconds, which mean nothing for a run
// made only for this answer.
std::string render_probe_run(const target_status& run);
// The same for the runs of one request: one per address family for ip_protocol = "both", each
// with its ip_family label; each family's header is written once.
std::string render_probe_run(const std::vector<const target_status*>& runs);

}  // namespace smtp_exporter::exporter
