#include "exporter/scheduler.hpp"

#include <set>

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
  t.host = "127.0.0.1";
  t.port = 25;
  t.tls = config::tls_mode::none;
  t.probes[static_cast<std::size_t>(config::probe::banner)] = true;
  t.interval = interval;
  t.probe_interval.fill(interval);
  t.timeout = interval;
  t.ehlo_name = "probe.test";
  return t;
}

// A session runner that only sleeps, and counts.
struct fake_sessions {
  std::chrono::milliseconds run_time{0};
  int running = 0;
  int max_running = 0;
  std::map<std::string, int> running_per_host;
  int max_running_per_host = 0;
  std::map<std::string, int> runs;
  std::map<std::string, std::array<int, probes::probe_kind_count>> due_counts;

  session_runner runner() {
    return [this](const probes::session_options& o) -> asio::awaitable<probes::session_result> {
      ++running;
      max_running = std::max(max_running, running);
      int per_host = ++running_per_host[o.host];
      max_running_per_host = std::max(max_running_per_host, per_host);
      ++runs[o.host];
      for (std::size_t i = 0; i < probes::probe_kind_count; ++i) due_counts[o.host][i] += o.due[i] ? 1 : 0;
      asio::steady_timer t(co_await asio::this_coro::executor, run_time);
      co_await t.async_wait(asio::use_awaitable);
      --running;
      --running_per_host[o.host];
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
  s.set_session_runner(fake.runner());
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
  s.set_session_runner(fake.runner());
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
  s.set_session_runner(fake.runner());
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
  s.set_session_runner(fake.runner());
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

TEST(scheduler, changed_target_restarts_as_pending) {
  asio::io_context io;
  status_store store;
  fake_sessions fake;
  scheduler s(io.get_executor(), store, {});
  s.set_session_runner(fake.runner());
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
  s.set_session_runner(fake.runner());
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
