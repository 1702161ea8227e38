// DNSBL checks ([dnsbl] in the config): the egress IPs (configured, or discovered over DNS) and,
// optionally, every target's addresses, looked up in each zone on the zone's own interval.
// Not an SMTP session: its own timers on the exporter's executor, its own status record.
//
// - Lookups go through c-ares on the same executor (probes::dns_resolver::query); nothing blocks.
// - Each zone has its own resolver (its `servers`), interval and timeout.
// - Answers are kept per (zone, IP) for max(interval, TTL): an IP shared by several targets, or
//   by a target and the egress, is asked once; a reload that keeps a zone keeps its answers.
// - A bounded number of queries is in flight (max_in_flight, all zones together).
// - The verdicts are probes::classify_dnsbl_answer's; scrapes read a published snapshot.
//
// Thread-safety: apply() and stop() on the executor; status() from any thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/address.hpp>

#include "config/config.hpp"
#include "probes/dns/dnsbl.hpp"
#include "exporter/schedule/scheduler.hpp"

namespace smtp_exporter::exporter {

// One IP in one zone, for the egress (target empty) or for a target's address.
struct dnsbl_check {
  std::string ip;
  std::string zone;
  std::string target;  // empty for egress IPs
  probes::dnsbl_result result = probes::dnsbl_result::dns_error;
  // From the last lookup that gave an answer (listed or not_listed); an error since then does
  // not change them, so an error never reads as "not listed", nor clears a listing.
  bool has_answer = false;
  bool listed = false;
  std::vector<int> return_codes;  // while listed
  std::string txt;                // the listing's TXT record, for humans (never a label)
  std::string detail;             // what decided an error (the answer, c-ares' text)
  double duration_seconds = 0;    // of the last lookup
  double last_lookup_timestamp = 0;
};

// A listing's return codes as a person reads them: "127.0.0.2, 127.0.0.4".
std::string return_codes_text(const std::vector<int>& codes);

struct dnsbl_zone_status {
  std::string name;
  bool blocking = false;
  std::string delist_url;
  double interval_seconds = 0;
  std::uint64_t lookups_total = 0;
  std::array<std::uint64_t, probes::dnsbl_result_count> errors_total{};  // by result
};

struct egress_address {
  std::string ip;
  int family = 4;
  std::string source;  // "configured", or the discovery method
};

struct dnsbl_status {
  bool enabled = false;
  std::vector<egress_address> egress;
  std::string discovery_method;  // empty: no discovery
  bool discovery_has_result = false;
  bool discovery_ok = false;
  std::string discovery_error;  // the reason of the last failed discovery
  std::string discovery_detail;
  std::map<std::string, std::uint64_t> discovery_errors_total;
  double egress_last_change_timestamp = 0;  // 0 until the discovered set changes
  std::vector<dnsbl_zone_status> zones;
  std::vector<dnsbl_check> checks;  // ordered by target (egress first), ip, zone
};

// What a zone's queries end in: its name, or "KEY.name" with a DQS key read from the zone's
// dqs_key_file or dqs_key_env; nullopt with `error` (which never holds the key) when unreadable.
std::optional<std::string> dnsbl_query_suffix(const config::dnsbl_zone& zone, std::string& error);
// A resolver for DNSBL queries through `servers` (empty: the system's), SERVFAIL and REFUSED
// taken as answers; nullptr with `error` if c-ares cannot start.
std::shared_ptr<probes::dns_resolver> make_dnsbl_resolver(
    const boost::asio::any_io_executor& executor, const std::vector<std::string>& servers,
    std::chrono::milliseconds timeout, std::string& error);
// The configured egress_ips as addresses (the config validated them; any other is skipped).
std::vector<boost::asio::ip::address> configured_egress_ips(const config::dnsbl_settings& settings);
// What [dnsbl.discovery] asks: the method's preset (IPv6 with `ip6 = true`), with the config's
// name and server when set; custom: the config's name, server and record.
probes::egress_query discovery_query(const config::egress_discovery& discovery);

// The scheduler's second kind of runner (check_runner): it hosts this one next to the SMTP
// sessions, counts its lookups in smtp_exporter_probes_in_flight and stops it with the rest.
class dnsbl_runner : public check_runner {
 public:
  explicit dnsbl_runner(boost::asio::any_io_executor executor);
  ~dnsbl_runner() override;
  dnsbl_runner(const dnsbl_runner&) = delete;
  dnsbl_runner& operator=(const dnsbl_runner&) = delete;

  // Makes `settings` the running checks; an unchanged config keeps running undisturbed.
  void apply(const config::dnsbl_settings& settings, const std::vector<config::target>& targets);
  std::shared_ptr<const dnsbl_status> status() const;

  // check_runner. Timers start with apply() (a config that enables DNSBL), not with start().
  std::string_view kind() const override { return "dnsbl"; }
  void start(boost::asio::any_io_executor executor) override;
  void stop() override;
  std::size_t in_flight() const override { return in_flight_->load(std::memory_order_relaxed); }

  // Internal: the running checks of one config, and the snapshot its coroutines publish.
  struct generation;
  void publish(const generation& g);

 private:

  boost::asio::any_io_executor executor_;
  // DNS queries in flight, over every generation still running (a replaced one drains); shared
  // with them, read by scrapes from another thread.
  std::shared_ptr<std::atomic<std::size_t>> in_flight_ =
      std::make_shared<std::atomic<std::size_t>>(0);
  std::shared_ptr<generation> current_;
  mutable std::mutex mutex_;
  std::shared_ptr<const dnsbl_status> published_;
};

}  // namespace smtp_exporter::exporter
