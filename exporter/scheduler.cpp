#include "exporter/clock.hpp"
#include "exporter/scheduler.hpp"

#include <algorithm>
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "exporter/log.hpp"
#include "exporter/session_options.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

std::chrono::milliseconds start_offset(const std::string& name,
                                       std::chrono::milliseconds interval) {
  // FNV-1a: stable across runs and builds, unlike std::hash.
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  if (interval.count() <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(h % static_cast<std::uint64_t>(interval.count()));
}

struct scheduler::runner {
  runner(asio::any_io_executor ex, std::shared_ptr<const config::target> t,
         std::shared_ptr<asio::ssl::context> tls)
      : target(std::move(t)), timer(ex) {
    options = session_options_for(*target);
    options.tls_context = std::move(tls);
  }
  std::shared_ptr<const config::target> target;
  // Each run copies these; the copy keeps its TLS context alive even if a reload replaces it.
  probes::session_options options;
  asio::steady_timer timer;
  bool stopped = false;
  bool has_slot = false;
  std::array<probes::failure_reason, probes::probe_kind_count> last_reason{};
  std::array<bool, probes::probe_kind_count> reported{};
};

scheduler::scheduler(asio::any_io_executor executor, status_store& store, settings s)
    : executor_(executor),
      store_(store),
      settings_(s),
      resolver_(executor),
      session_runner_([this](const probes::session_options& o) {
        return probes::run_session(o, resolver_);
      }) {
  if (settings_.max_in_flight == 0) settings_.max_in_flight = 1;
}

scheduler::~scheduler() { stop(); }

void scheduler::set_session_runner(session_runner runner) { session_runner_ = std::move(runner); }

void scheduler::apply(const std::vector<config::target>& targets,
                      std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts) {
  std::map<std::string, std::shared_ptr<runner>> next;
  std::vector<std::shared_ptr<runner>> fresh;
  std::vector<std::shared_ptr<const config::target>> canonical;
  canonical.reserve(targets.size());
  std::size_t started = 0, kept = 0;
  for (const auto& t : targets) {
    auto tls_it = tls_contexts.find(t.name);
    auto tls = tls_it == tls_contexts.end() ? nullptr : tls_it->second;
    auto old = runners_.find(t.name);
    if (old != runners_.end() && *old->second->target == t) {
      // Unchanged target: keep its rhythm and results; a reload still refreshes its trust store.
      old->second->options.tls_context = tls;
      canonical.push_back(old->second->target);
      next.emplace(t.name, std::move(old->second));
      runners_.erase(old);
      ++kept;
      continue;
    }
    auto r = std::make_shared<runner>(executor_, std::make_shared<const config::target>(t), tls);
    canonical.push_back(r->target);
    next.emplace(t.name, r);
    fresh.push_back(std::move(r));
    ++started;
  }
  // What is left in runners_ was removed or changed.
  std::size_t stopped = runners_.size();
  for (auto& [name, r] : runners_) {
    r->stopped = true;
    r->timer.cancel();
  }
  runners_ = std::move(next);
  store_.set_targets(canonical);
  for (auto& r : fresh) {
    asio::co_spawn(executor_, run_target(r), [name = r->target->name](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::error("target runner failed", {{"target", name}, {"err", ex.what()}});
      }
    });
  }
  log::info("targets scheduled", {{"targets", std::to_string(runners_.size())},
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

std::size_t scheduler::in_flight() const {
  std::size_t n = in_flight_.load(std::memory_order_relaxed);
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
  for (auto& [name, r] : runners_) {
    r->stopped = true;
    r->timer.cancel();
  }
  runners_.clear();
}

asio::awaitable<void> scheduler::acquire_slot(std::shared_ptr<runner> r) {
  if (slots_used_ < settings_.max_in_flight) {
    ++slots_used_;
    r->has_slot = true;
    co_return;
  }
  // A stopped waiter is woken by stop() and leaves; release_slot() skips it when it comes up,
  // which keeps stopping many waiters linear.
  slot_waiters_.push_back(r);
  r->timer.expires_at(clock::time_point::max());
  co_await r->timer.async_wait(asio::as_tuple(asio::use_awaitable));
}

void scheduler::release_slot() {
  while (!slot_waiters_.empty()) {
    auto next = std::move(slot_waiters_.front());
    slot_waiters_.pop_front();
    if (next->stopped) continue;  // it is leaving; the slot goes to the next waiter
    next->has_slot = true;
    next->timer.cancel();
    return;
  }
  --slots_used_;
}

asio::awaitable<void> scheduler::run_target(std::shared_ptr<runner> r) {
  const config::target& t = *r->target;
  std::array<clock::time_point, probes::probe_kind_count> next_due{};
  auto first = clock::now() + start_offset(t.name, t.interval);
  bool any = false;
  for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
    if (t.probes[p]) {
      next_due[p] = first;
      any = true;
    }
  }
  if (!any) co_return;

  while (!r->stopped) {
    auto wake = clock::time_point::max();
    for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
      if (t.probes[p]) wake = std::min(wake, next_due[p]);
    }
    r->timer.expires_at(wake);
    co_await r->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (r->stopped) break;

    auto options = r->options;
    auto now = clock::now();
    for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
      options.due[p] = t.probes[p] && next_due[p] <= now;
    }
    co_await acquire_slot(r);
    if (r->stopped) {
      // Stopped while waiting (or just after being handed a slot): never probe a removed target,
      // nor race the runner that replaced it.
      if (r->has_slot) {
        r->has_slot = false;
        release_slot();
      }
      break;
    }
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    auto result = co_await session_runner_(options);
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
    r->has_slot = false;
    release_slot();
    if (r->stopped) break;

    store_.record(r->target, result, unix_now());
    for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
      const auto& outcome = result.probes[p];
      if (!outcome.ran) continue;
      auto probe_name = probes::to_string(static_cast<probes::probe_kind>(p));
      auto reason = probes::to_string(outcome.reason);
      if (!r->reported[p] || r->last_reason[p] != outcome.reason) {
        // State changes are worth a line at info; every run is worth one at debug.
        auto level = outcome.reason == probes::failure_reason::none ? log::info : log::warn;
        level("probe result changed",
              {{"target", t.name}, {"probe", probe_name}, {"result", reason},
               {"detail", result.detail}});
        r->reported[p] = true;
        r->last_reason[p] = outcome.reason;
      } else if (log::debug_enabled()) {
        log::debug("probe run", {{"target", t.name}, {"probe", probe_name}, {"result", reason},
                                 {"duration_seconds", std::to_string(result.total_seconds)},
                                 {"detail", result.detail}});
      }
    }

    now = clock::now();
    for (std::size_t p = 0; p < probes::probe_kind_count; ++p) {
      if (!options.due[p]) continue;
      // Keep the grid: a slow or late run skips the slots it missed instead of bunching up.
      auto interval = t.probe_interval[p];
      while (next_due[p] <= now) next_due[p] += interval;
    }
  }
}

}  // namespace smtp_exporter::exporter
