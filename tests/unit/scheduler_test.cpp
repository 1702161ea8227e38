#include "exporter/schedule/scheduler.hpp"

#include <algorithm>
#include <iostream>
#include <set>
#include <stdexcept>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

config::target make_target(const std::string& name, std::chrono::milliseconds interval) {
  config::target t;
  t.name = name;
  t.host = name;  // the fake sessions count per host
  t.port = 25;
  t.tls = config::tls_mode::none;
  t.probes[static_cast<std::size_t>(config::probe::banner)] = true;
  t.interval = interval;
  t.probe_interval.fill(interval);
  t.timeout = interval;
  t.ehlo_name = "probe.test";
  return t;
}

// A session function that only sleeps (on the scheduler's clock, so manual time moves it too), and
// counts.
struct fake_sessions {
  struct session {
    std::string host;
    std::uint16_t port;
    scheduler_clock::time_point start, end;
  };
  std::chrono::milliseconds run_time{0};
  std::string throw_for_host;  // sessions to this host throw instead of returning a result
  std::vector<session> sessions;
  int running = 0;
  int max_running = 0;
  std::map<std::string, int> running_per_host;
  int max_running_per_host = 0;
  std::map<std::string, int> runs;
  std::map<std::string, std::array<int, probes::probe_kind_count>> due_counts;

  session_function function() {
    return [this](const probes::session_options& o) -> asio::awaitable<probes::session_result> {
      ++running;
      max_running = std::max(max_running, running);
      int per_host = ++running_per_host[o.host];
      max_running_per_host = std::max(max_running_per_host, per_host);
      ++runs[o.host];
      for (std::size_t i = 0; i < probes::probe_kind_count; ++i) due_counts[o.host][i] += o.due[i] ? 1 : 0;
      auto index = sessions.size();
      sessions.push_back({o.host, o.port, scheduler_clock::now(), {}});
      scheduler_timer t(co_await asio::this_coro::executor, run_time);
      co_await t.async_wait(asio::use_awaitable);
      --running;
      --running_per_host[o.host];
      sessions[index].end = scheduler_clock::now();
      if (o.host == throw_for_host) throw std::runtime_error("session bug");
      probes::session_result r;
      for (std::size_t i = 0; i < probes::probe_kind_count; ++i) r.probes[i].ran = o.due[i];
      co_return r;
    };
  }
};

TEST(scheduler, start_offsets_are_deterministic_and_spread_over_the_interval) {
  const auto interval = 60000ms;
  std::array<int, 10> buckets{};
  for (int i = 0; i < 10000; ++i) {
    auto name = "target-" + std::to_string(i);
    auto offset = start_offset(name, interval);
    ASSERT_GE(offset.count(), 0);
    ASSERT_LT(offset, interval);
    ASSERT_EQ(offset, start_offset(name, interval));
    ++buckets[static_cast<std::size_t>(offset.count() * 10 / interval.count())];
  }
  // 1,000 expected per tenth of the interval; a hash that clumps would leave some far off.
  for (int b : buckets) {
    EXPECT_GT(b, 850);
    EXPECT_LT(b, 1150);
  }
}

TEST(scheduler, a_target_never_has_two_runs_in_flight) {
  asio::io_context io;
  status_store store;
  fake_sessions fake;
  fake.run_time = 250ms;  // longer than the interval
  scheduler s(io.get_executor(), store, {});
  s.set_session_function(fake.function());
  auto t = make_target("slow", 100ms);
  t.host = "slow";
  s.apply({t}, {});
  io.run_for(1500ms);
  EXPECT_EQ(fake.max_running_per_host, 1);
  EXPECT_GE(fake.runs["slow"], 3);
  // Missed slots are skipped, not queued: at most one run per 250 ms.
  EXPECT_LE(fake.runs["slow"], 7);
}

TEST(scheduler, global_cap_bounds_runs_in_flight_and_every_target_gets_its_turn) {
  asio::io_context io;
  status_store store;
  fake_sessions fake;
  fake.run_time = 100ms;
  scheduler s(io.get_executor(), store, scheduler::settings{2});
  s.set_session_function(fake.function());
  std::vector<config::target> targets;
  for (int i = 0; i < 10; ++i) {
    auto t = make_target("t" + std::to_string(i), 100ms);
    t.host = t.name;
    targets.push_back(t);
  }
  s.apply(targets, {});
  io.run_for(2000ms);
  EXPECT_LE(fake.max_running, 2);
  EXPECT_EQ(fake.max_running, 2);
  for (const auto& t : targets) EXPECT_GE(fake.runs[t.name], 1) << t.name;
}

TEST(scheduler, per_probe_intervals_share_sessions) {
  asio::io_context io;
  status_store store;
  fake_sessions fake;
  scheduler s(io.get_executor(), store, {});
  s.set_session_function(fake.function());
  auto t = make_target("mixed", 100ms);
  t.host = "mixed";
  t.tls = config::tls_mode::starttls;
  t.probes[static_cast<std::size_t>(config::probe::tls)] = true;
  t.probe_interval[static_cast<std::size_t>(config::probe::tls)] = 400ms;
  s.apply({t}, {});
  io.run_for(2050ms);
  auto banner_runs = fake.due_counts["mixed"][0];
  auto tls_runs = fake.due_counts["mixed"][1];
  // One session per banner slot; the tls probe rides along every fourth one, never alone.
  EXPECT_EQ(fake.runs["mixed"], banner_runs);
  EXPECT_GE(banner_runs, 15);
  EXPECT_GE(tls_runs, 3);
  EXPECT_LE(tls_runs, 7);
}

TEST(scheduler, reload_keeps_unchanged_targets_running_and_stops_removed_ones) {
  asio::io_context io;
  status_store store;
  fake_sessions fake;
  scheduler s(io.get_executor(), store, {});
  s.set_session_function(fake.function());
  auto a = make_target("a", 100ms);
  a.host = "a";
  auto b = make_target("b", 100ms);
  b.host = "b";
  s.apply({a, b}, {});
  io.run_for(600ms);
  auto runs_a = store.snapshot()[0].probes[0].runs_total;
  ASSERT_GE(runs_a, 3u);

  auto c = make_target("c", 100ms);
  c.host = "c";
  s.apply({a, c}, {});
  int runs_b_at_reload = fake.runs["b"];
  io.run_for(600ms);
  auto snap = store.snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].config->name, "a");
  EXPECT_GT(snap[0].probes[0].runs_total, runs_a);  // kept its counters: not restarted
  EXPECT_EQ(snap[1].config->name, "c");
  EXPECT_GE(snap[1].probes[0].runs_total, 1u);
  EXPECT_LE(fake.runs["b"], runs_b_at_reload + 1);  // at most the run that was in flight
}

// Issue 24: ip_protocol = "both" runs one session per address family, each recorded apart under
// one name; the IPv6 one fails here while the IPv4 one works, and each keeps its own result.
TEST(scheduler, both_families_run_one_session_each_and_keep_their_own_results) {
  asio::io_context io;
  status_store store;
  std::map<int, int> sessions_per_family;  // session_options::ip_protocol -> sessions
  scheduler s(io.get_executor(), store, {});
  s.set_session_function(
      [&](const probes::session_options& o) -> asio::awaitable<probes::session_result> {
        ++sessions_per_family[o.ip_protocol];
        probes::session_result r;
        for (std::size_t i = 0; i < probes::probe_kind_count; ++i) r.probes[i].ran = o.due[i];
        if (o.ip_protocol == 6) r.probes[0].reason = probes::failure_reason::connect_timeout;
        co_return r;
      });
  auto dual = make_target("dual", 100ms);
  dual.ip_protocol = "both";
  auto plain = make_target("plain", 100ms);
  s.apply({dual, plain}, {});
  EXPECT_EQ(s.target_count(), 3u);
  io.run_for(450ms);
  EXPECT_GE(sessions_per_family[4], 3);
  EXPECT_GE(sessions_per_family[6], 3);
  EXPECT_GE(sessions_per_family[0], 3);  // "plain": any family, as before

  auto snap = store.snapshot();
  ASSERT_EQ(snap.size(), 3u);
  EXPECT_EQ(snap[0].config->name, "dual");
  EXPECT_EQ(snap[0].config->family, config::ip_family::ipv4);
  EXPECT_EQ(snap[0].config->ip_protocol, "ip4");
  EXPECT_EQ(snap[0].probes[0].reason, probes::failure_reason::none);
  EXPECT_EQ(snap[1].config->name, "dual");
  EXPECT_EQ(snap[1].config->family, config::ip_family::ipv6);
  EXPECT_EQ(snap[1].probes[0].reason, probes::failure_reason::connect_timeout);
  EXPECT_GE(snap[1].probes[0].consecutive_failures, 3u);
  EXPECT_EQ(snap[2].config->name, "plain");
  EXPECT_EQ(snap[2].config->family, config::ip_family::none);
  ASSERT_TRUE(store.find("dual", config::ip_family::ipv6));
  EXPECT_FALSE(store.find("dual"));  // no record without a family for a "both" target

  // An unchanged reload keeps both families' counters; back to "any", one record again.
  const auto v6_runs = snap[1].probes[0].runs_total;
  s.apply({dual, plain}, {});
  EXPECT_EQ(store.find("dual", config::ip_family::ipv6)->probes[0].runs_total, v6_runs);
  dual.ip_protocol = "any";
  s.apply({dual, plain}, {});
  EXPECT_EQ(s.target_count(), 2u);
  snap = store.snapshot();
  ASSERT_EQ(snap.size(), 2u);
  EXPECT_EQ(snap[0].config->family, config::ip_family::none);
  EXPECT_FALSE(snap[0].probes[0].has_result);
}

TEST(scheduler, family_targets_split_only_both) {
  auto t = make_target("t", 100ms);
  EXPECT_EQ(family_targets(t).size(), 1u);
  t.ip_protocol = "ip6";
  ASSERT_EQ(family_targets(t).size(), 1u);
  EXPECT_EQ(family_targets(t)[0].family, config::ip_family::none);
  t.ip_protocol = "both";
  auto both = family_targets(t);
  ASSERT_EQ(both.size(), 2u);
  EXPECT_EQ(both[0].family, config::ip_family::ipv4);
  EXPECT_EQ(session_options_for(both[0]).ip_protocol, 4);
  EXPECT_EQ(both[1].family, config::ip_family::ipv6);
  EXPECT_EQ(session_options_for(both[1]).ip_protocol, 6);
  EXPECT_EQ(both[1].name, "t");
}

TEST(scheduler, changed_target_restarts_as_pending) {
  asio::io_context io;
  status_store store;
  fake_sessions fake;
  scheduler s(io.get_executor(), store, {});
  s.set_session_function(fake.function());
  auto a = make_target("a", 100ms);
  s.apply({a}, {});
  io.run_for(400ms);
  ASSERT_TRUE(store.snapshot()[0].probes[0].has_result);
  a.port = 2525;
  s.apply({a}, {});
  auto snap = store.snapshot();
  EXPECT_FALSE(snap[0].probes[0].has_result);
  EXPECT_EQ(snap[0].config->port, 2525);
}

// ---------------------------------------------------------------------------------------------
// Manual time: the scheduler's clock stands still until the test moves it, so minutes of schedule
// play in milliseconds and nothing asserted depends on how loaded the machine is.

class manual_time : public ::testing::Test {
 protected:
  manual_time() { scheduler_clock::set_manual(true); }
  ~manual_time() override { scheduler_clock::set_manual(false); }

  // Runs every handler that the time reached so far makes ready, and what those start in turn.
  void settle() {
    for (int idle = 0; idle < 2;) {
      if (io_.stopped()) io_.restart();
      idle = io_.poll() == 0 ? idle + 1 : 0;
    }
  }
  // Moves time on by `total`, a `step` at a time, settling after each: a timer fires at the end of
  // the step its expiry falls in.
  void play(std::chrono::milliseconds total, std::chrono::milliseconds step = 1ms) {
    for (auto t = 0ms; t < total; t += step) {
      scheduler_clock::advance(step);
      settle();
    }
  }
  // Moves time on until `done()` holds, at most `limit`.
  template <class predicate>
  void play_until(predicate done, std::chrono::milliseconds limit) {
    for (auto t = 0ms; t < limit && !done(); t += 1ms) {
      scheduler_clock::advance(1ms);
      settle();
    }
  }
  std::chrono::milliseconds since(scheduler_clock::time_point origin,
                                  scheduler_clock::time_point t) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t - origin);
  }

  asio::io_context io_;
  status_store store_;
  fake_sessions fake_;
};

TEST(scheduler, first_run_offsets_fit_the_startup_window_in_the_stable_order) {
  const auto interval = 60000ms, window = 10000ms;
  std::vector<std::pair<std::chrono::milliseconds, std::chrono::milliseconds>> offsets;
  for (int i = 0; i < 1000; ++i) {
    auto name = "target-" + std::to_string(i);
    auto first = first_run_offset(name, interval, window);
    ASSERT_GE(first.count(), 0);
    ASSERT_LT(first, window);
    offsets.emplace_back(start_offset(name, interval), first);
  }
  std::sort(offsets.begin(), offsets.end());
  for (std::size_t i = 1; i < offsets.size(); ++i) EXPECT_LE(offsets[i - 1].second, offsets[i].second);
  // An interval no longer than the window keeps the stable offset; a window of 0 turns it off.
  EXPECT_EQ(first_run_offset("a", 5000ms, window), start_offset("a", 5000ms));
  EXPECT_EQ(first_run_offset("a", interval, 0ms), start_offset("a", interval));
}

TEST(scheduler, startup_window_stretches_to_keep_the_first_runs_rate_bounded) {
  EXPECT_EQ(startup_window_for(1000, 10000ms), 10000ms);
  EXPECT_EQ(startup_window_for(2500, 10000ms), 10000ms);
  EXPECT_EQ(startup_window_for(10000, 10000ms), 40000ms);  // 250 a second
  EXPECT_EQ(startup_window_for(10000, 60000ms), 60000ms);
  EXPECT_EQ(startup_window_for(10000, 0ms), 0ms);  // off stays off
}

TEST_F(manual_time, a_thousand_targets_all_start_within_the_startup_window_under_the_cap) {
  constexpr std::size_t cap = 16;
  const auto window = 10000ms;
  fake_.run_time = 100ms;  // 1,000 runs of 100 ms in 10 s: 10 in flight on average, more in bursts
  scheduler s(io_.get_executor(), store_, scheduler::settings{cap, window});
  s.set_session_function(fake_.function());
  std::vector<config::target> targets;
  for (int i = 0; i < 1000; ++i) {
    auto t = make_target("target-" + std::to_string(i), 60000ms);
    t.timeout = 10000ms;
    targets.push_back(t);
  }
  const auto origin = scheduler_clock::now();
  s.apply(targets, {});
  settle();
  std::size_t most_in_flight = 0;
  // The last first runs start just before the window ends; their results follow one run later.
  for (auto t = 0ms; t < window + fake_.run_time; t += 1ms) {
    scheduler_clock::advance(1ms);
    settle();
    most_in_flight = std::max(most_in_flight, s.in_flight());
  }

  auto snapshot = store_.snapshot();
  ASSERT_EQ(snapshot.size(), 1000u);
  for (const auto& status : snapshot)
    EXPECT_TRUE(status.probes[0].has_result) << status.config->name << " still pending";
  EXPECT_EQ(fake_.sessions.size(), 1000u);  // one run each: later runs keep the stable spread
  EXPECT_LE(most_in_flight, cap);
  EXPECT_LE(fake_.max_running, static_cast<int>(cap));
  EXPECT_EQ(fake_.max_running, static_cast<int>(cap));  // the bursts did meet the cap
  // Still spread: about a hundred first runs start in each second of the window.
  std::array<int, 10> per_second{};
  auto longest_wait_for_a_slot = 0ms;
  for (const auto& session : fake_.sessions) {
    auto at = since(origin, session.start);
    EXPECT_LT(at, window);
    const auto due = first_run_offset(session.host, 60000ms, window);
    EXPECT_GE(at, due);
    longest_wait_for_a_slot = std::max(longest_wait_for_a_slot, at - due);
    ++per_second[static_cast<std::size_t>(at / 1000ms)];
  }
  for (int n : per_second) {
    EXPECT_GT(n, 60);
    EXPECT_LT(n, 140);
  }
  EXPECT_GT(longest_wait_for_a_slot, 0ms);  // some runs did wait for the cap...
  std::cout << "longest wait for a slot: " << longest_wait_for_a_slot.count() << " ms\n";
}

TEST_F(manual_time, later_runs_go_back_to_the_stable_spread) {
  const auto interval = 60000ms, window = 10000ms;
  scheduler s(io_.get_executor(), store_, scheduler::settings{512, window});
  s.set_session_function(fake_.function());
  std::vector<config::target> targets;
  for (int i = 0; i < 20; ++i) {
    targets.push_back(make_target("spread-" + std::to_string(i), interval));
  }
  const auto origin = scheduler_clock::now();
  s.apply(targets, {});
  settle();
  constexpr auto step = 10ms;
  play(2 * interval + window, step);
  auto step_end = [&](std::chrono::milliseconds at) { return (at + step - 1ms) / step * step; };

  int second_slot_skipped = 0;
  for (const auto& t : targets) {
    SCOPED_TRACE(t.name);
    std::vector<std::chrono::milliseconds> starts;
    for (const auto& session : fake_.sessions)
      if (session.host == t.host) starts.push_back(since(origin, session.start));
    const auto first = first_run_offset(t.name, interval, window);
    auto second = start_offset(t.name, interval);  // the target's own slot in the interval
    if (second < first + interval / 2) {
      second += interval;  // too close to the first run: the next slot
      ++second_slot_skipped;
    }
    std::vector<std::chrono::milliseconds> expected{step_end(first)};
    for (auto at = second; at <= 2 * interval + window; at += interval)
      expected.push_back(step_end(at));
    EXPECT_EQ(starts, expected);
  }
  // Both ways of going back to the stable spread were exercised.
  EXPECT_GT(second_slot_skipped, 0);
  EXPECT_LT(second_slot_skipped, 20);
}

TEST_F(manual_time, a_session_that_throws_gives_its_slot_back_and_its_target_tries_again) {
  fake_.run_time = 10ms;
  fake_.throw_for_host = "buggy";
  scheduler s(io_.get_executor(), store_, scheduler::settings{1, 0ms});  // one slot for both
  s.set_session_function(fake_.function());
  s.apply({make_target("buggy", 100ms), make_target("healthy", 100ms)}, {});
  play(2000ms);
  // A leaked slot would have stopped both after the first throw.
  EXPECT_GE(fake_.runs["buggy"], 19);
  EXPECT_GE(fake_.runs["healthy"], 19);
  auto snapshot = store_.snapshot();
  EXPECT_FALSE(snapshot[0].probes[0].has_result);  // "buggy": nothing recorded for a failed run
  EXPECT_GE(snapshot[1].probes[0].runs_total, 19u);
  play_until([&] { return s.in_flight() == 0; }, 100ms);
  EXPECT_EQ(s.in_flight(), 0u);
}

// No two sessions against one host overlap.
void expect_no_overlap(const std::vector<fake_sessions::session>& sessions) {
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    for (std::size_t j = i + 1; j < sessions.size(); ++j) {
      if (sessions[i].host != sessions[j].host) continue;
      EXPECT_TRUE(sessions[j].start >= sessions[i].end || sessions[i].start >= sessions[j].end)
          << "sessions " << i << " and " << j << " to " << sessions[i].host << " overlap";
    }
  }
}

TEST_F(manual_time, a_reload_keeps_every_unchanged_target_among_many_removed_and_added) {
  scheduler s(io_.get_executor(), store_, scheduler::settings{512, 100ms});
  s.set_session_function(fake_.function());
  std::vector<config::target> before, after;
  for (int i = 0; i < 60; ++i) {
    auto t = make_target("t" + std::to_string(100 + i), 100ms);
    before.push_back(t);
    if (i % 3 == 1) continue;                    // removed
    if (i % 7 == 0) t.port = 2525;               // changed: restarted
    after.push_back(t);
  }
  for (int i = 0; i < 10; ++i) after.push_back(make_target("new" + std::to_string(i), 100ms));
  std::reverse(after.begin(), after.end());  // the order of the file does not matter
  const auto origin = scheduler_clock::now();
  s.apply(before, {});
  play(1037ms);  // off the 100 ms grid: a restarted target would change phase
  std::map<std::string, std::uint64_t> runs_before;
  for (const auto& status : store_.snapshot()) runs_before[status.config->name] = status.probes[0].runs_total;
  ASSERT_EQ(runs_before.size(), 60u);
  for (const auto& [name, runs] : runs_before) ASSERT_GE(runs, 5u) << name;

  s.apply(after, {});
  const auto reload_at = since(origin, scheduler_clock::now());
  EXPECT_EQ(s.target_count(), after.size());
  const auto removed_runs = [&] {
    int n = 0;
    for (int i = 1; i < 60; i += 3) n += fake_.runs["t" + std::to_string(100 + i)];
    return n;
  };
  const int removed_at_reload = removed_runs();
  for (const auto& status : store_.snapshot()) {
    const auto& name = status.config->name;
    if (name.starts_with("new") || status.config->port == 2525) {
      EXPECT_FALSE(status.probes[0].has_result) << name << ": new or changed, so pending";
    } else {
      EXPECT_EQ(status.probes[0].runs_total, runs_before[name]) << name << ": kept its record";
    }
  }
  play(1000ms);
  for (const auto& status : store_.snapshot()) {
    const auto& name = status.config->name;
    EXPECT_GE(status.probes[0].runs_total, name.starts_with("new") || status.config->port == 2525
                                               ? 5u
                                               : runs_before[name] + 5)
        << name << " runs on its own rhythm after the reload";
  }
  EXPECT_EQ(removed_runs(), removed_at_reload) << "removed targets run no more";
  // Kept targets were not restarted: they keep their phase on the grid of their first apply().
  int kept_sessions = 0;
  for (const auto& session : fake_.sessions) {
    const auto at = since(origin, session.start);
    if (at <= reload_at || session.host.starts_with("new") || session.port == 2525) continue;
    const auto index = std::stoi(session.host.substr(1)) - 100;
    if (index % 3 == 1) continue;  // removed
    const auto& t = before[static_cast<std::size_t>(index)];
    EXPECT_EQ(at % 100ms, start_offset(t.name, 100ms) % 100ms) << t.name << " at " << at.count();
    ++kept_sessions;
  }
  EXPECT_GT(kept_sessions, 300);
  expect_no_overlap(fake_.sessions);
}

// A scheduler whose only target, on mx.test:25, is in the middle of a 900 ms session. Its start-up
// window is short: without the wait, a new config's first run would start mid-session.
class reload_mid_session : public manual_time {
 protected:
  void start(const std::string& name) {
    fake_.run_time = 900ms;
    scheduler_.set_session_function(fake_.function());
    target_ = make_target(name, 1000ms);
    target_.host = "mx.test";
    scheduler_.apply({target_}, {});
    play_until([&] { return fake_.running == 1; }, 2000ms);
    ASSERT_EQ(fake_.running, 1);
  }
  scheduler scheduler_{io_.get_executor(), store_, scheduler::settings{512, 10ms}};
  config::target target_;
};

TEST_F(reload_mid_session, a_changed_target_waits_for_the_session_its_old_config_has_in_flight) {
  ASSERT_NO_FATAL_FAILURE(start("a"));
  auto a = target_;
  const auto old_end = fake_.sessions.back().start + 900ms;

  a.port = 2525;  // changed: a new entry, while the old one is mid-session
  scheduler_.apply({a}, {});
  play(3000ms);
  ASSERT_GE(fake_.sessions.size(), 3u);
  EXPECT_EQ(fake_.sessions[0].port, 25);
  EXPECT_EQ(fake_.sessions[1].port, 2525);
  EXPECT_EQ(fake_.sessions[1].start, old_end);  // started the moment the old one ended
  EXPECT_EQ(fake_.max_running_per_host, 1);
  expect_no_overlap(fake_.sessions);
}

TEST_F(reload_mid_session, a_target_renamed_onto_a_busy_server_waits_for_the_old_session) {
  ASSERT_NO_FATAL_FAILURE(start("old-name"));
  auto new_name = target_;
  new_name.name = "new-name";  // same host:port under another name
  scheduler_.apply({new_name}, {});
  play(3000ms);
  ASSERT_GE(fake_.sessions.size(), 2u);
  EXPECT_EQ(fake_.max_running_per_host, 1);
  expect_no_overlap(fake_.sessions);
  ASSERT_EQ(store_.snapshot().size(), 1u);
  EXPECT_GE(store_.snapshot()[0].probes[0].runs_total, 1u);
}

TEST_F(reload_mid_session, chained_reloads_still_wait_for_the_oldest_session) {
  ASSERT_NO_FATAL_FAILURE(start("a"));
  auto a = target_;
  a.port = 2525;
  scheduler_.apply({a}, {});  // this config never gets to run...
  play(5ms);
  a.port = 2526;
  scheduler_.apply({a}, {});  // ...and this one must still wait for the first
  play(3000ms);
  ASSERT_GE(fake_.sessions.size(), 2u);
  EXPECT_EQ(fake_.sessions[1].port, 2526);
  EXPECT_EQ(fake_.max_running_per_host, 1);
  expect_no_overlap(fake_.sessions);
}

// A second kind of check (as DNSBL lookups are): its own timer and its own record, hosted by the
// scheduler, counted in the runs in flight, stopped with it. Nothing of it is an SMTP session.
struct ticking_check : check_runner {
  struct record {
    int runs = 0;
  };
  std::shared_ptr<record> status = std::make_shared<record>();
  std::shared_ptr<asio::steady_timer> timer;
  std::shared_ptr<bool> stopped = std::make_shared<bool>(false);
  std::shared_ptr<std::size_t> running = std::make_shared<std::size_t>(0);

  std::string_view kind() const override { return "ticking"; }
  void start(asio::any_io_executor executor) override {
    timer = std::make_shared<asio::steady_timer>(executor);
    asio::co_spawn(executor, loop(timer, status, stopped, running), asio::detached);
  }
  static asio::awaitable<void> loop(std::shared_ptr<asio::steady_timer> timer,
                                    std::shared_ptr<record> status, std::shared_ptr<bool> stopped,
                                    std::shared_ptr<std::size_t> running) {
    while (!*stopped) {
      ++*running;
      timer->expires_after(5ms);
      co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
      --*running;
      if (*stopped) break;
      ++status->runs;
    }
  }
  void stop() override {
    *stopped = true;
    if (timer) timer->cancel();
  }
  std::size_t in_flight() const override { return *running; }
};

TEST(scheduler, hosts_a_second_kind_of_runner_with_its_own_record) {
  asio::io_context io;
  status_store store;
  scheduler s(io.get_executor(), store, {});
  fake_sessions fake;
  s.set_session_function(fake.function());
  auto check = std::make_shared<ticking_check>();
  s.host(check);
  s.apply({make_target("smtp", 50ms)}, {});
  io.run_for(40ms);
  EXPECT_GE(check->status->runs, 3);
  EXPECT_GE(s.in_flight(), 1u) << "the hosted check's run in flight is counted";
  EXPECT_EQ(store.size(), 1u) << "the hosted check has no SMTP record";
  s.stop();
  const int runs = check->status->runs;
  io.run_for(40ms);
  EXPECT_EQ(check->status->runs, runs) << "stopped with the scheduler";
  EXPECT_EQ(check->in_flight(), 0u);
}

}  // namespace
}  // namespace smtp_exporter::exporter
