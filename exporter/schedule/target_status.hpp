// The compact per-target record that scrapes read: the last completed results and the counters.
// Metrics are built from these at scrape time (exporter/render/metrics.cpp), never stored as series.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "exporter/schedule/interner.hpp"
#include "exporter/schedule/target_key.hpp"
#include "probes/core/result.hpp"

namespace smtp_exporter::exporter {

// Failed runs per reason: only the reasons seen are stored (a sorted list, usually empty or one
// long), where an array of every reason's counter took 132 bytes per probe and target.
class failure_counts {
 public:
  // Runs that failed with reason `r` (an index of probes::failure_reason).
  std::uint32_t operator[](std::size_t r) const;
  void add(probes::failure_reason r);
  bool operator==(const failure_counts&) const = default;

 private:
  std::vector<std::pair<probes::failure_reason, std::uint32_t>> counts_;
};

// Equal TLS facts hash equally (for interner<probes::tls_facts>).
struct tls_facts_hash {
  std::size_t operator()(const probes::tls_facts& facts) const;
};

// The values records share across targets (exporter/schedule/interner.hpp).
struct record_pool {
  interner<probes::tls_facts, tls_facts_hash> tls;
  interner<std::string> transcripts;
};

struct probe_status {
  bool has_result = false;  // false until a run that included this probe has ended ("pending")
  probes::failure_reason reason = probes::failure_reason::none;
  bool policy_rejected = false;   // the deciding reply refused this client (probes/core/verdicts.hpp)
  int reply_code = 0;
  std::string enhanced_code;      // RFC 3463 code of the deciding reply; empty if none
  double last_run_timestamp = 0;  // Unix seconds, end of the run
  std::uint64_t runs_total = 0;
  // Failed runs in a row, 0 after a success: alerts page on N of these rather than on one
  // failure that smtp_probe_success holds for a whole interval.
  std::uint32_t consecutive_failures = 0;
  failure_counts failures_total;
};

// The delivery probe's facts (issue 21): messages sent, and what the read-back over IMAP found
// of the last one it looked for. Shared and copied on write: most targets have none.
struct delivery_facts {
  std::uint64_t messages_sent = 0;  // accepted with 250 at end of data
  double latency_seconds = -1;      // of the last message found (an upper bound; readback.hpp)
  std::string folder;               // "inbox" or "junk" of the last message found; empty if none
  // The receiving side's verdict from the trusted Authentication-Results: method -> result, for
  // spf, dkim and dmarc (those present).
  std::vector<std::pair<std::string, std::string>> auth_results;
  std::string detail;               // the last read-back's detail
  bool operator==(const delivery_facts&) const = default;
};

// What a read-back found, for status_store::record_delivery.
struct delivery_outcome {
  probes::failure_reason reason = probes::failure_reason::none;
  std::string detail;
  double latency_seconds = -1;
  std::string folder;  // "inbox", "junk" or empty
  std::vector<std::pair<std::string, std::string>> auth_results;
  // The read-back's steps (phase imap_*): seconds, negative when the step did not run.
  std::array<double, 4> imap_seconds{-1, -1, -1, -1};  // login, search, fetch, delete
};

struct target_status {
  std::shared_ptr<const config::target> config;
  std::array<probe_status, probes::probe_kind_count> probes{};
  probes::phase_times phase_seconds = probes::not_run_phases();
  double last_duration_seconds = -1;  // -1 until the first run ends
  double last_run_timestamp = 0;
  probes::capabilities ehlo;
  bool ehlo_seen = false;
  bool tls_seen = false;  // from the last run in which a TLS handshake completed
  int ip_protocol = 0;    // of the last run that connected
  std::string greeting;
  std::string detail;
  std::string peer_address;
  // The last run's dialogue (redacted), its lines each ended by '\n'; null before the first run.
  // Shared: a snapshot copies a pointer, and records with the same dialogue (the same server)
  // share one text when recorded through a record_pool.
  std::shared_ptr<const std::string> transcript;
  // Set iff tls_seen; shared like the transcript (the same chain: one copy).
  std::shared_ptr<const probes::tls_facts> tls;
  std::shared_ptr<const delivery_facts> delivery;  // null until the delivery probe sent a message

  // Folds one session's result in; with `pool`, the transcript and TLS facts are interned there.
  void record(const probes::session_result& result, double end_timestamp,
              record_pool* pool = nullptr);
  // Folds a read-back in: the delivery probe's run ends here (its session left it undecided).
  void record_delivery(const delivery_outcome& outcome, double end_timestamp);
};

// The results of every target, keyed and ordered by target name.
// Thread-safety: all members are safe to call concurrently; snapshot() copies under the lock so a
// scrape never holds it while building or serializing metrics.
class status_store {
 public:
  // Replaces the set of targets: keeps the status of targets whose config is unchanged, starts
  // others as pending, drops removed ones.
  void set_targets(const std::vector<std::shared_ptr<const config::target>>& targets);
  // Records a run of `target`; ignored if that target was removed or replaced meanwhile.
  void record(const std::shared_ptr<const config::target>& target,
              const probes::session_result& result, double end_timestamp);
  // Records the delivery probe's read-back; ignored like record() for a removed target.
  void record_delivery(const std::shared_ptr<const config::target>& target,
                       const delivery_outcome& outcome, double end_timestamp);
  std::vector<target_status> snapshot() const;
  // The same records, shared: a scrape takes pointers under the lock (microseconds for 10,000
  // targets) and reads them without it. Records are immutable once published.
  std::vector<std::shared_ptr<const target_status>> shared_snapshot() const;
  // One target's record (a copy), for pages about a single target; nullopt if unknown. A target
  // with ip_protocol = "both" has one record per family.
  std::optional<target_status> find(std::string_view name,
                                    config::ip_family family = config::ip_family::none) const;
  std::size_t size() const;

 private:
  mutable std::mutex mutex_;
  using records = std::vector<std::shared_ptr<const target_status>>;
  // The record of `key` in `in`, or in.end().
  static records::const_iterator find_in(const records& in, target_key key);
  // Copy-on-write: record() publishes a new record instead of changing the one a scrape may be
  // reading, so the lock is only ever held to swap or copy pointers. Sorted by target key: a
  // vector of pointers rather than a map, whose node per target cost 96 bytes.
  records targets_;
  record_pool pool_;
};

}  // namespace smtp_exporter::exporter
