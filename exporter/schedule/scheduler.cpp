#include "exporter/runtime/clock.hpp"
#include "exporter/schedule/scheduler.hpp"
#include "exporter/schedule/target_key.hpp"

#include <malloc.h>

#include <algorithm>
#include <exception>
#include <initializer_list>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/fnv1a.hpp"
#include "exporter/runtime/log.hpp"
#include "exporter/schedule/delivery_readback.hpp"
#include "exporter/schedule/session_options.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
using clock = scheduler_clock;

namespace {

std::atomic<bool> manual_time{false};
std::atomic<scheduler_clock::rep> manual_ticks{0};

}  // namespace

scheduler_clock::time_point scheduler_clock::now() noexcept {
  if (manual_time.load(std::memory_order_acquire))
    return time_point(duration(manual_ticks.load(std::memory_order_acquire)));
  return time_point(std::chrono::steady_clock::now().time_since_epoch());
}

void scheduler_clock::set_manual(bool manual) {
  manual_ticks.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                     std::memory_order_release);
  manual_time.store(manual, std::memory_order_release);
}

void scheduler_clock::advance(duration d) {
  manual_ticks.fetch_add(d.count(), std::memory_order_acq_rel);
}

bool scheduler_clock::manual() { return manual_time.load(std::memory_order_acquire); }

scheduler_clock::duration scheduler_wait_traits::to_wait_duration(
    const scheduler_clock::duration& d) {
  return scheduler_clock::manual() ? std::min(d, scheduler_clock::duration::zero()) : d;
}

scheduler_clock::duration scheduler_wait_traits::to_wait_duration(
    const scheduler_clock::time_point& t) {
  return to_wait_duration(asio::wait_traits<scheduler_clock>::to_wait_duration(t));
}

std::chrono::milliseconds start_offset(const std::string& name,
                                       std::chrono::milliseconds interval) {
  if (interval.count() <= 0) return std::chrono::milliseconds(0);
  // FNV-1a: stable across runs and builds, unlike std::hash.
  const std::uint64_t h = fnv1a(name);
  return std::chrono::milliseconds(h % static_cast<std::uint64_t>(interval.count()));
}

std::chrono::milliseconds startup_window_for(std::size_t targets,
                                             std::chrono::milliseconds configured) {
  if (configured.count() <= 0) return configured;
  const auto needed = std::chrono::milliseconds(
      static_cast<std::int64_t>(targets * 1000 / max_first_runs_per_second));
  return std::max(configured, needed);
}

std::chrono::milliseconds first_run_offset(const std::string& name,
                                           std::chrono::milliseconds interval,
                                           std::chrono::milliseconds startup_window) {
  auto offset = start_offset(name, interval);
  if (startup_window.count() <= 0 || interval <= startup_window) return offset;
  // Intervals are at most a week and windows shorter than the interval: no overflow here.
  return std::chrono::milliseconds(offset.count() * startup_window.count() / interval.count());
}

std::chrono::milliseconds second_run_offset(const std::string& name,
                                            std::chrono::milliseconds interval,
                                            std::chrono::milliseconds probe_interval,
                                            std::chrono::milliseconds startup_window) {
  const auto first = first_run_offset(name, interval, startup_window);
  auto second = start_offset(name, interval);
  while (second < first + probe_interval / 2) second += probe_interval;
  return second;
}

std::size_t tls_settings_hash::operator()(const config::tls_settings& tls) const {
  std::hash<std::string_view> text;
  std::size_t seed = 0;
  for (const std::string* field :
       {&tls.server_name, &tls.ca_file, &tls.cert_file, &tls.key_file, &tls.min_version}) {
    hash_combine(seed, text(*field));
  }
  hash_combine(seed, static_cast<std::size_t>(tls.insecure_skip_verify));
  return seed;
}

struct scheduler::target_entry {
  target_entry(std::shared_ptr<const config::target> t, std::shared_ptr<asio::ssl::context> tls)
      : target(std::move(t)), tls_context(std::move(tls)) {}
  std::shared_ptr<const config::target> target;
  // Each run's session_options hold a copy, which stays alive even if a reload replaces this one.
  // The options are made per run rather than kept here: 448 bytes a target (bench/README.md).
  std::shared_ptr<asio::ssl::context> tls_context;
  oauth_binding token;  // [auth.oauth2]: shared with every target of the same credential
  // The delivery probe's read-back (delivery_readback.hpp): the IMAP trust store and token, and
  // whether one is running (at most one per target).
  std::shared_ptr<asio::ssl::context> imap_tls;
  oauth_binding imap_token;
  std::shared_ptr<bool> readback_running = std::make_shared<bool>(false);
  clock::time_point scheduled{};  // when apply() started this entry
  std::array<clock::time_point, probes::probe_kind_count> next_due{};
  // The run's own timer while it waits for its predecessors (it lives in the run's frame); null
  // otherwise. Cancelling it wakes the run.
  scheduler_timer* wait_timer = nullptr;
  // The run's place in the slot queue while it waits for a slot; cancelling it wakes the run.
  std::shared_ptr<slot_limiter::ticket> slot_ticket;
  std::chrono::milliseconds startup_window{0};  // for this entry's first run
  bool first_run = true;
  bool stopped = false;
  bool has_slot = false;
  bool in_session = false;
  bool waiting_for_predecessors = false;
  std::array<probes::failure_reason, probes::probe_kind_count> last_reason{};
  std::array<bool, probes::probe_kind_count> reported{};
  // Across a reload: entries of the old config still in a session that this one must wait for,
  // and the entries waiting for this one.
  std::vector<std::shared_ptr<target_entry>> predecessors;
  std::vector<std::weak_ptr<target_entry>> successors;

  void stop() {
    stopped = true;
    if (wait_timer) wait_timer->cancel();
    if (slot_ticket) slot_ticket->cancel();
  }
};

scheduler::scheduler(asio::any_io_executor executor, status_store& store, settings s)
    : executor_(executor),
      store_(store),
      settings_(s),
      resolver_(executor),
      session_function_([this](const probes::session_options& o) {
        return probes::run_session(o, resolver_);
      }),
      timer_(executor),
      limiter_(settings_.max_in_flight) {
  if (settings_.max_in_flight == 0) settings_.max_in_flight = 1;
}

scheduler::~scheduler() { stop(); }

void scheduler::set_session_function(session_function function) {
  session_function_ = std::move(function);
}

void scheduler::apply(const std::vector<config::target>& targets,
                      std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts,
                      std::map<std::string, oauth_binding> tokens) {
  const auto by_key = [](const std::shared_ptr<target_entry>& r, target_key key) {
    return key_of(*r->target) < key;
  };
  std::vector<bool> kept_entry(entries_.size(), false);  // by index in entries_ (sorted by name)
  std::vector<std::shared_ptr<target_entry>> next;
  next.reserve(targets.size());
  std::vector<std::shared_ptr<target_entry>> fresh;
  std::vector<std::shared_ptr<const config::target>> canonical;
  canonical.reserve(targets.size());
  std::size_t started = 0, kept = 0;
  // A target with ip_protocol = "both" runs as one entry per family (family_targets); the
  // entries of one target share its TLS context and tokens.
  const auto consider = [&](const config::target& t) {
    auto tls_it = tls_contexts.find(t.name);
    auto tls = tls_it == tls_contexts.end() ? nullptr : tls_it->second;
    auto token_it = tokens.find(t.name);
    oauth_binding token = token_it == tokens.end() ? oauth_binding{} : token_it->second;
    auto imap_tls_it = tls_contexts.find(imap_resource_key(t.name));
    auto imap_tls = imap_tls_it == tls_contexts.end() ? nullptr : imap_tls_it->second;
    auto imap_token_it = tokens.find(imap_resource_key(t.name));
    oauth_binding imap_token =
        imap_token_it == tokens.end() ? oauth_binding{} : imap_token_it->second;
    auto old = std::lower_bound(entries_.begin(), entries_.end(), key_of(t), by_key);
    const auto index = static_cast<std::size_t>(old - entries_.begin());
    if (old != entries_.end() && key_of(*(*old)->target) == key_of(t) && !kept_entry[index] &&
        *(*old)->target == t) {
      // Unchanged target: keep its rhythm and results; a reload still refreshes its trust store.
      (*old)->tls_context = tls;
      (*old)->token = std::move(token);
      (*old)->imap_tls = std::move(imap_tls);
      (*old)->imap_token = std::move(imap_token);
      canonical.push_back((*old)->target);
      next.push_back(*old);
      kept_entry[index] = true;
      ++kept;
      return;
    }
    auto copy = t;
    if (copy.tls_config.pointer()) {
      copy.tls_config =
          config::shared_value<config::tls_settings>(tls_settings_.intern(*copy.tls_config));
    }
    auto r = std::make_shared<target_entry>(
        std::make_shared<const config::target>(std::move(copy)), tls);
    r->token = std::move(token);
    r->imap_tls = std::move(imap_tls);
    r->imap_token = std::move(imap_token);
    canonical.push_back(r->target);
    next.push_back(r);
    fresh.push_back(std::move(r));
    ++started;
  };
  for (const auto& t : targets) {
    if (t.ip_protocol != "both") {
      consider(t);
      continue;
    }
    for (const auto& per_family : family_targets(t)) consider(per_family);
  }
  // What was not kept was removed or changed.
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (kept_entry[i]) entries_[i] = nullptr;
  }
  std::erase_if(entries_, [](const auto& r) { return r == nullptr; });
  std::size_t stopped = entries_.size();
  std::erase_if(draining_, [](const auto& d) { return !d->in_session; });
  for (auto& r : entries_) {
    r->stop();
    if (r->in_session) draining_.push_back(r);
  }
  if (stopped > 0) queue_.erase_if([](const auto& r) { return r->stopped; });
  // A new entry for the same target, or for the same server under another name, starts its first
  // session only after the old one's ends (within that one's timeout).
  for (auto& r : fresh) {
    for (auto& d : draining_) {
      if (d->target->name != r->target->name &&
          (d->target->host != r->target->host || d->target->port != r->target->port))
        continue;
      r->predecessors.push_back(d);
      d->successors.push_back(r);
    }
  }
  sort_unique_by_key(next, [](const auto& r) { return key_of(*r->target); });
  entries_ = std::move(next);
  store_.set_targets(canonical);
  const auto window = startup_window_for(fresh.size(), settings_.startup_window);
  const auto now = clock::now();
  for (auto& r : fresh) {
    r->startup_window = window;
    r->scheduled = now;
    const config::target& t = *r->target;
    const auto first = now + first_run_offset(t.name, t.interval, window);
    bool any = false;
    for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
      if (t.probes[p]) {
        r->next_due[p] = first;
        any = true;
      }
    }
    if (any) enqueue(std::move(r));
  }
  // The config's parse tree (freed by now, on the thread that parsed it) and the records and
  // entries a reload replaced leave free pages in malloc's arenas; give them back, so the
  // exporter's RSS is what it holds (at 10,000 targets the parse alone leaves ~30 MiB).
  malloc_trim(0);
  log::info("targets scheduled", {{"targets", std::to_string(entries_.size())},
                                  {"started", std::to_string(started)},
                                  {"unchanged", std::to_string(kept)},
                                  {"stopped", std::to_string(stopped)}});
}

void scheduler::host(std::shared_ptr<check_runner> runner) {
  runner->start(executor_);
  log::info("check runner started", {{"kind", std::string(runner->kind())}});
  std::lock_guard lock(hosted_mutex_);
  hosted_.push_back(std::move(runner));
}

std::vector<std::shared_ptr<check_runner>> scheduler::hosted() const {
  std::lock_guard lock(hosted_mutex_);
  return hosted_;
}

std::size_t scheduler::in_flight() const {
  std::size_t n = limiter_.in_flight();
  std::lock_guard lock(hosted_mutex_);
  for (const auto& h : hosted_) n += h->in_flight();
  return n;
}

void scheduler::stop() {
  std::vector<std::shared_ptr<check_runner>> hosted;
  {
    std::lock_guard lock(hosted_mutex_);
    hosted.swap(hosted_);
  }
  for (auto& h : hosted) h->stop();
  for (auto& r : entries_) r->stop();
  entries_.clear();
  queue_.clear();
  timer_armed_ = false;
  ++timer_generation_;
  timer_.cancel();
}

void scheduler::enqueue(std::shared_ptr<target_entry> r) {
  auto wake = clock::time_point::max();
  for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
    if (r->target->probes[p]) wake = std::min(wake, r->next_due[p]);
  }
  queue_.push(wake, std::move(r));
  arm_timer();
}

void scheduler::arm_timer() {
  if (queue_.empty()) return;
  const auto wake = queue_.top().due;
  // A wait that ends no later than the earliest entry serves it too: on_timer() takes every
  // entry due by then and arms the timer again.
  if (timer_armed_ && timer_expiry_ <= wake) return;
  timer_armed_ = true;
  timer_expiry_ = wake;
  const auto generation = ++timer_generation_;
  timer_.expires_at(wake);  // cancels the wait it replaces
  timer_.async_wait([this, generation, alive = std::weak_ptr<const bool>(alive_)](
                        const boost::system::error_code& ec) {
    // A replaced wait may have completed before it could be cancelled: its generation tells.
    if (ec == asio::error::operation_aborted || alive.expired() || generation != timer_generation_)
      return;
    timer_armed_ = false;
    on_timer();
  });
}

void scheduler::on_timer() {
  const auto now = clock::now();
  while (!queue_.empty() && queue_.top().due <= now) {
    auto r = queue_.pop().value;
    if (r->stopped) continue;
    const config::target& t = *r->target;
    std::array<bool, probes::probe_kind_count> due{};
    for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
      due[p] = t.probes[p] && r->next_due[p] <= now;
    }
    asio::co_spawn(executor_, run_once(r, due), [name = t.name](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("target run failed", {{"target", name}, {"err", ex.what()}});
      }
    });
  }
  arm_timer();
}

namespace {
// The target as log lines name it: "relay", or "relay (ipv6)" for one family of a "both" target.
std::string log_name(const config::target& t) {
  if (t.family == config::ip_family::none) return t.name;
  return t.name + " (" + std::string(config::to_string(t.family)) + ")";
}
}  // namespace

asio::awaitable<void> scheduler::wait_for_predecessors(std::shared_ptr<target_entry> r) {
  while (!r->stopped) {
    std::erase_if(r->predecessors, [](const auto& p) { return !p->in_session; });
    if (r->predecessors.empty()) co_return;
    r->waiting_for_predecessors = true;
    r->wait_timer->expires_at(clock::time_point::max());
    co_await r->wait_timer->async_wait(asio::as_tuple(asio::use_awaitable));
    r->waiting_for_predecessors = false;
  }
}

asio::awaitable<void> scheduler::run_once(std::shared_ptr<target_entry> r,
                                          std::array<bool, probes::probe_kind_count> due) {
  const config::target& t = *r->target;
  auto options = session_options_for(t);
  options.tls_context = r->tls_context;
  bind_token(options, r->token);
  options.due = due;
  {
    // The run's own timer, for the wait that another entry's session ends.
    scheduler_timer wait_timer(executor_);
    r->wait_timer = &wait_timer;
    struct clear_on_exit {
      target_entry& r;
      ~clear_on_exit() {
        r.wait_timer = nullptr;
        r.slot_ticket = nullptr;
      }
    } clear{*r};
    co_await wait_for_predecessors(r);
    if (r->stopped) co_return;
    bool held = limiter_.try_acquire();
    if (!held) {
      auto ticket = std::make_shared<slot_limiter::ticket>(executor_);
      r->slot_ticket = ticket;
      held = co_await limiter_.acquire(std::move(ticket));
    }
    r->has_slot = held;
  }
  if (r->stopped) {
    // Stopped while waiting (or just after being handed a slot): never probe a removed target,
    // nor race the entry that replaced it.
    if (r->has_slot) {
      r->has_slot = false;
      limiter_.release();
    }
    co_return;
  }
  probes::session_result result;
  bool session_failed = false;
  {
    // However the session ends, an exception included, its slot goes back and the entries
    // waiting for it (after a reload) are woken: a leaked slot is lost to every target for good.
    struct session_guard {
      scheduler& s;
      target_entry& r;
      std::weak_ptr<const bool> alive;
      ~session_guard() {
        if (alive.expired()) return;
        r.in_session = false;
        for (auto& w : r.successors) {
          auto next = w.lock();
          if (next && next->waiting_for_predecessors && next->wait_timer) next->wait_timer->cancel();
        }
        r.successors.clear();
        if (r.has_slot) {
          r.has_slot = false;
          s.limiter_.release();
        }
      }
    } guard{*this, *r, alive_};
    r->in_session = true;
    try {
      result = co_await session_function_(options);
    } catch (const std::exception& e) {
      // A session reports failures in its result; an exception is a bug. The target keeps its
      // last result (which then ages into SMTPProbeResultsStale) and tries again next time.
      log::error("probe session failed", {{"target", log_name(t)}, {"err", e.what()}});
      session_failed = true;
    }
  }
  if (r->stopped) co_return;

  // A message the server accepted: the delivery probe's run ends with the read-back, not here.
  const auto delivery = static_cast<std::size_t>(probes::probe_kind::delivery);
  const bool read_back = !session_failed && result.delivery && result.probes[delivery].success() &&
                         r->target->delivery;
  if (read_back) result.probes[delivery].ran = false;
  if (!session_failed) store_.record(r->target, result, unix_now());
  if (read_back && !*r->readback_running) {
    *r->readback_running = true;
    // A named request: GCC 12 mis-destroys a braced temporary passed to a coroutine.
    readback_request request{r->target, r->imap_tls, r->imap_token, *result.delivery,
                             r->readback_running};
    asio::co_spawn(executor_, run_delivery_readback(std::move(request), store_), asio::detached);
  }
  for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
    const auto& outcome = result.probes[p];
    if (!outcome.ran) continue;
    auto probe_name = probes::to_string(static_cast<probes::probe_kind>(p));
    auto reason = probes::to_string(outcome.reason);
    if (!r->reported[p] || r->last_reason[p] != outcome.reason) {
      // State changes are worth a line at info; every run is worth one at debug.
      auto level = outcome.reason == probes::failure_reason::none ? log::info : log::warn;
      level("probe result changed",
            {{"target", log_name(t)}, {"probe", probe_name}, {"result", reason},
             {"detail", result.detail}});
      r->reported[p] = true;
      r->last_reason[p] = outcome.reason;
    } else if (log::debug_enabled()) {
      log::debug("probe run", {{"target", log_name(t)}, {"probe", probe_name}, {"result", reason},
                               {"duration_seconds", std::to_string(result.total_seconds)},
                               {"detail", result.detail}});
    }
  }

  const auto now = clock::now();
  for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
    if (!due[p]) continue;
    const auto interval = t.probe_interval[p];
    if (r->first_run) {
      // Back from the start-up window to the stable spread.
      r->next_due[p] =
          r->scheduled + second_run_offset(t.name, t.interval, interval, r->startup_window);
    }
    // Keep the grid: a slow or late run skips the slots it missed instead of bunching up.
    while (r->next_due[p] <= now) r->next_due[p] += interval;
  }
  r->first_run = false;
  enqueue(std::move(r));
}

}  // namespace smtp_exporter::exporter
