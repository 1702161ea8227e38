// The plug-in interface of a kind of check that is not an SMTP session (DNSBL lookups; reverse
// DNS, SPF, DMARC next). A kind brings its config section, its runner (this), its metric families,
// its status-page section and its diagnose section; the app and the diagnose command iterate the
// registered kinds (exporter/checks/check_kinds.hpp) and never name one.
//
// The scheduler hosts every runner: it starts them, counts their runs in flight with the SMTP
// sessions (smtp_exporter_probes_in_flight) and stops them together. A runner bounds its runs with
// a slot_limiter (exporter/schedule/limiter.hpp), the same limiter type the sessions wait on.
//
// Thread-safety: apply(), start() and stop() on the scheduler's executor; in_flight(),
// families() and status_section() from any thread (scrapes and pages run on other threads);
// diagnose() on the thread that runs `io`.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>
#include <prometheus/metric_family.h>

#include "config/config.hpp"

namespace smtp_exporter::exporter {

// What one kind of check found in `smtp_exporter diagnose` (docs/diagnose.md).
struct check_diagnosis {
  std::string json_key;      // its member of the JSON document: "dnsbl"
  boost::json::value json;   // that member's value
  std::string verdict_label; // its line in the verdict: "DNSBL"
  std::string verdict;       // the rest of that line
};

class check_runner {
 public:
  virtual ~check_runner() = default;
  virtual std::string_view kind() const = 0;  // "dnsbl": for logs

  // Makes the config's section of this kind the running checks (at start and on every reload);
  // `targets` are this replica's targets. Nothing runs before start(). The default: a kind
  // without a config section.
  virtual void apply(const config::exporter_config& /*config*/,
                     const std::vector<config::target>& /*targets*/) {}
  // Lets the applied checks run (and those applied later) on `executor`; called once, when hosted.
  virtual void start(boost::asio::any_io_executor executor) = 0;
  // Stops every timer; a run in flight finishes and its result is dropped.
  virtual void stop() = 0;
  // Runs in flight right now (counted in smtp_exporter_probes_in_flight).
  virtual std::size_t in_flight() const = 0;

  // The kind's metric families, built at scrape time; empty when the kind is off (the default).
  virtual std::vector<prometheus::MetricFamily> families() const { return {}; }
  // The kind's HTML section of the status page, escaped by the kind; empty when it is off (the
  // default).
  virtual std::string status_section() const { return {}; }
  // One sequential run of the kind's checks for `diagnose`, on `io` until done, printing its
  // lines to `text` (nullptr for JSON output); nullopt when the config leaves the kind off, or
  // the kind has nothing to diagnose (the default).
  virtual std::optional<check_diagnosis> diagnose(boost::asio::io_context& /*io*/,
                                                  const config::exporter_config& /*config*/,
                                                  std::ostream* /*text*/) const {
    return std::nullopt;
  }
};

}  // namespace smtp_exporter::exporter
