// Runs every target on its own interval, one SMTP session per run, on one Asio executor.
//
// - Runs are spread over the interval by a deterministic per-target offset, so 10,000 targets
//   never start at once and a restart keeps each target's rhythm.
// - A target's first run (at start, or when a reload adds or changes it) comes within a short
//   start-up window instead, spread over that window the same way, so a restart is not a minute
//   of "pending"; its later runs go back to the stable spread.
// - After a reload, a changed target's new runs wait for the run its old config had in flight
//   (and so does a target taking over the same host:port): one server never sees both.
// - A target never has two runs in flight: its entry awaits the session before planning the next.
// - A target waiting for its next run is one entry in a run queue that one timer serves; only a run
//   (waiting for a slot or a predecessor, or in its session) has a coroutine frame and a timer.
// - Every run has a hard deadline (the target's timeout), enforced inside the session.
// - A global cap bounds the runs in flight; runs over the cap wait for a slot (slot_limiter,
//   exporter/schedule/limiter.hpp, the limiter type every hosted check_runner uses too). A slot
//   is given back however the session ends, an exception included.
// - Scrapes never wait for runs: results go to the status_store, which scrapes snapshot.
//
// Thread-safety: apply() and stop() must be called on the scheduler's executor.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/basic_waitable_timer.hpp>
#include <boost/asio/steady_timer.hpp>

#include "config/config.hpp"
#include "exporter/schedule/check_runner.hpp"
#include "exporter/schedule/interner.hpp"
#include "exporter/schedule/limiter.hpp"
#include "exporter/schedule/run_queue.hpp"
#include "exporter/schedule/session_options.hpp"
#include "exporter/schedule/target_status.hpp"
#include "probes/dns/resolver.hpp"
#include "probes/smtp/session.hpp"

namespace boost::asio::ssl {
class context;
}

namespace smtp_exporter::exporter {

// The scheduler's clock: steady_clock, unless a test has switched it to manual time, which stands
// still until the test advances it. Tests then play minutes of schedule in milliseconds, and what
// they assert does not depend on the machine's load.
// Thread-safety: all members are safe to call from any thread.
struct scheduler_clock {
  using duration = std::chrono::steady_clock::duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<scheduler_clock>;
  static constexpr bool is_steady = true;
  static time_point now() noexcept;

  // Tests only. Manual time starts at the current reading and moves only by advance().
  static void set_manual(bool manual);
  static void advance(duration d);
  static bool manual();
};

// In manual time a timer must not sleep on the real clock: every wait is "check again now", so an
// io_context's poll() fires exactly the timers that manual time has reached.
struct scheduler_wait_traits {
  static scheduler_clock::duration to_wait_duration(const scheduler_clock::duration& d);
  static scheduler_clock::duration to_wait_duration(const scheduler_clock::time_point& t);
};

using scheduler_timer = boost::asio::basic_waitable_timer<scheduler_clock, scheduler_wait_traits>;

// Runs one session; the default calls probes::run_session. Tests substitute their own.
using session_function = std::function<boost::asio::awaitable<probes::session_result>(
    const probes::session_options&)>;

// Delay of a target's first run after it is scheduled: a stable hash of its name, modulo the
// interval. Public for tests.
std::chrono::milliseconds start_offset(const std::string& name, std::chrono::milliseconds interval);

// First runs started by one apply() are spread over the configured start-up window, or longer when
// there are more than this many per second of it: measured on 2 cores, 1,000 TLS sessions a second
// saturate the event loop (bench/README.md), which would then time itself instead of the servers.
inline constexpr std::size_t max_first_runs_per_second = 250;

// The start-up window for `targets` first runs: `configured`, stretched to keep to
// max_first_runs_per_second (10,000 targets: 40 s). 0 stays 0 (off).
std::chrono::milliseconds startup_window_for(std::size_t targets,
                                             std::chrono::milliseconds configured);

// Delay of a target's first run: its start_offset scaled into the start-up window (the same order,
// spread over the window), or start_offset itself when the interval is no longer than the window.
// Public for tests.
std::chrono::milliseconds first_run_offset(const std::string& name,
                                           std::chrono::milliseconds interval,
                                           std::chrono::milliseconds startup_window);

// Delay of the second run of a probe with `probe_interval` after its target is scheduled: back on
// the stable spread, at the target's start_offset, or a later slot of the probe's grid if that
// comes less than half a probe interval after the first run. Public for tests and benchmarks.
std::chrono::milliseconds second_run_offset(const std::string& name,
                                            std::chrono::milliseconds interval,
                                            std::chrono::milliseconds probe_interval,
                                            std::chrono::milliseconds startup_window);

// Equal TLS settings hash equally (for interner<config::tls_settings>).
struct tls_settings_hash {
  std::size_t operator()(const config::tls_settings& tls) const;
};

class scheduler {
 public:
  struct settings {
    std::size_t max_in_flight = 512;
    // Every target's first run starts within this long after it is scheduled (0: first runs wait
    // for their stable offset in the interval, up to a whole interval); see startup_window_for.
    std::chrono::milliseconds startup_window{10000};
  };

  scheduler(boost::asio::any_io_executor executor, status_store& store, settings s);
  ~scheduler();

  // Makes `targets` the running set. Unchanged targets keep running undisturbed; changed ones are
  // restarted; removed ones stop (a run in flight finishes and its result is dropped).
  // `tls_contexts` maps each target name to its TLS context (may be absent for plain targets);
  // `tokens` each target with [auth.oauth2] to its token source (an unchanged target takes the
  // new binding too: the cache hands out the same source while the credential is the same).
  void apply(const std::vector<config::target>& targets,
             std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls_contexts,
             std::map<std::string, oauth_binding> tokens = {});
  void stop();

  // Replaces how sessions are run (tests).
  void set_session_function(session_function function);

  // Hosts another kind of check beside the SMTP sessions and starts it; stop() stops it too.
  void host(std::shared_ptr<check_runner> runner);
  // The hosted runners, in the order hosted (for their metric families and page sections).
  std::vector<std::shared_ptr<check_runner>> hosted() const;

  // SMTP sessions plus the hosted runners' checks in flight.
  std::size_t in_flight() const;
  std::size_t target_count() const { return entries_.size(); }

 private:
  // One target's schedule and the state of its run.
  struct target_entry;
  // Plans `r`'s next wake-up (the earliest of its probes' due times) in the run queue.
  void enqueue(std::shared_ptr<target_entry> r);
  // Points the scheduler's one timer at the earliest entry of the run queue.
  void arm_timer();
  // Starts a run for every entry of the run queue that is due.
  void on_timer();
  // One run of the probes due now, then the entry's next wake-up; nothing when it was stopped
  // meanwhile. Only runs have coroutine frames: a target waiting for its next run has none.
  boost::asio::awaitable<void> run_once(std::shared_ptr<target_entry> r,
                                        std::array<bool, probes::probe_kind_count> due);
  boost::asio::awaitable<void> wait_for_predecessors(std::shared_ptr<target_entry> r);

  boost::asio::any_io_executor executor_;
  status_store& store_;
  settings settings_;
  probes::dns_resolver resolver_;
  session_function session_function_;
  // Sorted by target key, name then family (a vector: a map's node per target cost 96 bytes).
  std::vector<std::shared_ptr<target_entry>> entries_;
  // The targets' TLS settings, one copy per distinct value (usually one per provider or CA file).
  interner<config::tls_settings, tls_settings_hash> tls_settings_;
  // Entries waiting for their next run, earliest first, and the one timer that wakes them.
  run_queue<scheduler_clock::time_point, std::shared_ptr<target_entry>> queue_;
  scheduler_timer timer_;
  bool timer_armed_ = false;
  scheduler_clock::time_point timer_expiry_{};
  std::uint64_t timer_generation_ = 0;  // a wait whose generation is older was replaced
  slot_limiter limiter_;  // --probe.max-in-flight: the SMTP sessions' slots
  mutable std::mutex hosted_mutex_;  // in_flight() reads hosted_ from the scrape thread
  std::vector<std::shared_ptr<check_runner>> hosted_;
  // Entries a reload stopped while their session was in flight; their successors wait for them.
  std::vector<std::shared_ptr<target_entry>> draining_;
  // Expires with the scheduler: a session's frame destroyed after it (when the io_context goes)
  // must not give its slot back to a scheduler that is gone.
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
};

}  // namespace smtp_exporter::exporter
