// DNSBL checks ([dnsbl] in the config): the egress IPs (configured, or discovered over DNS) and,
// optionally, every target's addresses, looked up in each zone on the zone's own interval.
// Not an SMTP session: its own timers on the exporter's executor, its own status record. This
// file only schedules; zone set-up (zones.hpp), discovery (discovery.hpp), resolvers
// (resolver.hpp), metrics, the page section and the diagnose section live beside it.
//
// - Lookups go through c-ares on the same executor (probes::dns_resolver::query); nothing blocks.
//   A zone's DQS key file is read on the blocking executor, never on the event loop.
// - Each zone has its own resolver (its `servers`), interval and timeout.
// - Answers are kept per (zone, IP) for max(interval, TTL): an IP shared by several targets, or
//   by a target and the egress, is asked once; a reload that keeps a zone keeps its answers.
// - At most max_in_flight queries are in flight (all zones together, a reload's draining queries
//   included): a slot_limiter, the limiter type the SMTP sessions wait on.
// - The verdicts are probes::classify_dnsbl_answer's; scrapes read a published snapshot.
//
// Thread-safety: apply(), start() and stop() on the executor; status(), in_flight(), families()
// and status_section() from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "config/config.hpp"
#include "exporter/dnsbl/status.hpp"
#include "exporter/schedule/check_runner.hpp"
#include "exporter/schedule/egress_registry.hpp"
#include "exporter/schedule/limiter.hpp"

namespace smtp_exporter::exporter {

// One of the scheduler's hosted runners (check_runner): it counts its lookups in
// smtp_exporter_probes_in_flight and is stopped with the sessions.
class dnsbl_runner : public check_runner {
 public:
  // `blocking`: where files are read (the app's helper threads), never the event loop.
  // `egress`, when given, gets the egress IPs (configured and discovered) at every change.
  dnsbl_runner(boost::asio::any_io_executor executor, boost::asio::any_io_executor blocking,
               std::shared_ptr<egress_registry> egress = nullptr);
  ~dnsbl_runner() override;
  dnsbl_runner(const dnsbl_runner&) = delete;
  dnsbl_runner& operator=(const dnsbl_runner&) = delete;

  // Makes `settings` the running checks; an unchanged config keeps running undisturbed.
  void apply(const config::dnsbl_settings& settings, const std::vector<config::target>& targets);
  std::shared_ptr<const dnsbl_status> status() const;

  // check_runner.
  std::string_view kind() const override { return "dnsbl"; }
  void apply(const config::exporter_config& config,
             const std::vector<config::target>& targets) override {
    apply(config.dnsbl, targets);
  }
  void start(boost::asio::any_io_executor executor) override;
  void stop() override;
  std::size_t in_flight() const override { return limiter_->in_flight(); }
  std::vector<prometheus::MetricFamily> families() const override;
  std::string status_section() const override;
  std::optional<check_diagnosis> diagnose(boost::asio::io_context& io,
                                          const config::exporter_config& config,
                                          std::ostream* text) const override;

  // Internal: the running checks of one config, and the snapshot its coroutines publish.
  struct generation;
  void publish(const generation& g);

 private:
  // Starts the coroutines of `g` (once started).
  void launch(const std::shared_ptr<generation>& g);

  boost::asio::any_io_executor executor_;
  boost::asio::any_io_executor blocking_;
  std::shared_ptr<egress_registry> egress_;
  bool started_ = false;
  // One for every generation (a replaced one drains within it); its count is read by scrapes.
  std::shared_ptr<slot_limiter> limiter_ = std::make_shared<slot_limiter>(16);
  std::shared_ptr<generation> current_;
  mutable std::mutex mutex_;
  std::shared_ptr<const dnsbl_status> published_;
};

}  // namespace smtp_exporter::exporter
