// Sender readiness ([sender] in the config, issue 22): will the providers take mail from this IP
// and these domains? Beside the DNSBL checks, with the same discipline: every lookup goes through
// c-ares on the exporter's executor (nothing blocks), answers are cached (probes::cached_dns_lookup:
// a record shared by several SPF evaluations is asked once per TTL), runs are bounded by a
// slot_limiter, and an error is never read as a verdict.
//
// Each round (every `interval`, and at once when the egress IPs change) checks:
// - the forward-confirmed reverse DNS of each egress IP (probes/dns/reverse_dns.hpp);
// - SPF (RFC 7208 check_host) of each egress IP for each sender domain (probes/dns/spf.hpp);
// - each sender domain's DMARC record, with the organisational-domain fallback through Debian's
//   Public Suffix List (probes/dns/dmarc.hpp), loaded on the blocking executor.
// The egress IPs are [sender] egress_ips and those the DNSBL runner knows (egress_registry).
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
#include "exporter/schedule/check_runner.hpp"
#include "exporter/schedule/egress_registry.hpp"
#include "exporter/schedule/limiter.hpp"
#include "exporter/sender/status.hpp"
#include "probes/dns/resolver.hpp"

namespace smtp_exporter::exporter {

// What one config asks of the sender checks, resolved against the targets and [dnsbl].
struct sender_plan {
  config::sender_settings settings;
  std::vector<std::string> domains;
  std::vector<std::string> servers;
  std::string helo;
  bool operator==(const sender_plan&) const = default;
};
sender_plan make_sender_plan(const config::exporter_config& config,
                             const std::vector<config::target>& targets);

// A resolver for the sender checks through `servers` (empty: the system's), SERVFAIL and REFUSED
// taken as answers; nullptr with `error` if c-ares cannot start.
std::shared_ptr<probes::dns_resolver> make_sender_resolver(
    const boost::asio::any_io_executor& executor, const std::vector<std::string>& servers,
    std::string& error);

class sender_runner : public check_runner {
 public:
  sender_runner(boost::asio::any_io_executor executor, boost::asio::any_io_executor blocking,
                std::shared_ptr<egress_registry> egress);
  ~sender_runner() override;
  sender_runner(const sender_runner&) = delete;
  sender_runner& operator=(const sender_runner&) = delete;

  std::shared_ptr<const sender_status> status() const;

  // check_runner.
  std::string_view kind() const override { return "sender"; }
  void apply(const config::exporter_config& config,
             const std::vector<config::target>& targets) override;
  void start(boost::asio::any_io_executor executor) override;
  void stop() override;
  std::size_t in_flight() const override { return limiter_->in_flight(); }
  std::vector<prometheus::MetricFamily> families() const override;
  std::string status_section() const override;
  std::optional<check_diagnosis> diagnose(boost::asio::io_context& io,
                                          const config::exporter_config& config,
                                          std::ostream* text) const override;

  // Internal: the running checks of one config.
  struct generation;
  void publish(std::shared_ptr<const sender_status> s);

 private:
  void launch(const std::shared_ptr<generation>& g);

  boost::asio::any_io_executor executor_;
  boost::asio::any_io_executor blocking_;
  std::shared_ptr<egress_registry> egress_;
  bool started_ = false;
  std::shared_ptr<slot_limiter> limiter_ = std::make_shared<slot_limiter>(8);
  std::shared_ptr<generation> current_;
  mutable std::mutex mutex_;
  std::shared_ptr<const sender_status> published_;
};

}  // namespace smtp_exporter::exporter
