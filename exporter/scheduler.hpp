// Runs every target on its own interval, one SMTP session per run, on one Asio executor.
//
// - Runs are spread over the interval by a deterministic per-target offset, so 10,000 targets
//   never start at once and a restart keeps each target's rhythm.
// - A target never has two runs in flight: its runner awaits the session before planning the next.
// - Every run has a hard deadline (the target's timeout), enforced inside the session.
// - A global cap bounds the runs in flight; runs over the cap wait for a slot.
// - Scrapes never wait for runs: results go to the status_store, which scrapes snapshot.
//
// Thread-safety: apply() and stop() must be called on the scheduler's executor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "exporter/target_status.hpp"
#include "probes/dns_resolver.hpp"
#include "probes/session.hpp"

namespace boost::asio::ssl {
class context;
}

namespace smtp_exporter::exporter {

// Runs one session; the default calls probes::run_session. Tests substitute their own.
using session_runner = std::function<boost::asio::awaitable<probes::session_result>(
    const probes::session_options&)>;

// A kind of check that is not an SMTP session (DNSBL lookups): it keeps its own schedule and its
// own record (status), and runs on the scheduler's executor. The scheduler hosts it so that every
// kind starts, reports runs in flight and stops together; it never dresses it up as a session.
// Thread-safety: every call on the scheduler's executor, except in_flight() (any thread).
class check_runner {
 public:
  virtual ~check_runner() = default;
  virtual std::string_view kind() const = 0;  // "dnsbl": for logs
  // Starts the runner's own timers on `executor`; called once, when hosted.
  virtual void start(boost::asio::any_io_executor executor) = 0;
  // Stops every timer; a run in flight finishes and its result is dropped.
  virtual void stop() = 0;
  // Checks running right now (counted in smtp_exporter_probes_in_flight).
  virtual std::size_t in_flight() const = 0;
};

// Delay of a target's first run after it is scheduled: a stable hash of its name, modulo the
// interval. Public for tests.
std::chrono::milliseconds start_offset(const std::string& name, std::chrono::milliseconds interval);

class scheduler {
 public:
  struct settings {
    std::size_t max_in_flight = 512;
  };

  scheduler(boost::asio::any_io_executor executor, status_store& store, settings s);
  ~scheduler();

  // Makes `targets` the running set. Unchanged targets keep running undisturbed; changed ones are
  // restarted; removed ones stop (a run in flight finishes and its result is dropped).
  // `tls_contexts` maps each target name to its TLS context (may be absent for plain targets).
  void apply(const std::vector<config::target>& targets,
             std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls_contexts);
  void stop();

  // Replaces how sessions are run (tests).
  void set_session_runner(session_runner runner);

  // Hosts another kind of check beside the SMTP sessions; stop() stops it too.
  void host(std::shared_ptr<check_runner> runner);

  // SMTP sessions plus the hosted runners' checks in flight.
  std::size_t in_flight() const;
  std::size_t target_count() const { return runners_.size(); }

 private:
  struct runner;
  boost::asio::awaitable<void> run_target(std::shared_ptr<runner> r);
  boost::asio::awaitable<void> acquire_slot(std::shared_ptr<runner> r);
  void release_slot();

  boost::asio::any_io_executor executor_;
  status_store& store_;
  settings settings_;
  probes::dns_resolver resolver_;
  session_runner session_runner_;
  std::map<std::string, std::shared_ptr<runner>> runners_;
  std::atomic<std::size_t> in_flight_{0};
  std::size_t slots_used_ = 0;
  std::deque<std::shared_ptr<runner>> slot_waiters_;  // FIFO of runners waiting for a slot
  mutable std::mutex hosted_mutex_;  // in_flight() reads hosted_ from the scrape thread
  std::vector<std::shared_ptr<check_runner>> hosted_;
};

}  // namespace smtp_exporter::exporter
