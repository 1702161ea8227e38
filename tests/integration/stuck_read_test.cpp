// A file read that never returns must not lock the web port nor the shutdown (issue 24, finding
// 4), through the real binary. A hung NFS or FUSE mount is simulated with strace: attached to the
// exporter, it holds every openat(2) of the config file for 60 s, as a hung mount holds the
// thread that reads it (O_NONBLOCK does nothing for a regular file). Meanwhile the test asks for
// /-/reload, fills the connection cap with status-page requests, checks that /-/healthy and
// /metrics keep answering, and sends SIGTERM.
//
// Before the fix: the reload never answered, the status pages waited behind it holding every
// connection, /-/healthy and /metrics were refused, and SIGTERM did not end the process.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

using clock = std::chrono::steady_clock;

// Whether process `pid` has exited: gone, or its main thread a zombie (/proc/PID/stat).
bool exited_or_zombie(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text)) return true;
  const auto close = text.rfind(')');
  return close == std::string::npos || close + 2 >= text.size() || text[close + 2] == 'Z' ||
         text[close + 2] == 'X';
}

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

TEST(stuck_read, a_config_replaced_by_a_fifo_is_refused_at_once) {
  temp_dir dir;
  exporter_process exporter(dir, one_refused_target_toml);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  fs::remove(exporter.config_path());
  ASSERT_EQ(::mkfifo(exporter.config_path().c_str(), 0600), 0);
  const auto start = clock::now();
  auto reload = http_request(exporter.port(), "POST", "/-/reload", 10s);
  const double took = seconds_since(start);
  std::printf("FIFO as the config: /-/reload answered %d in %.3f s: %s", reload.status, took,
              reload.body.c_str());
  EXPECT_EQ(reload.status, 500);
  EXPECT_NE(reload.body.find("not a regular file"), std::string::npos) << reload.body;
  EXPECT_LT(took, 2.0);
  EXPECT_EQ(http_request(exporter.port(), "GET", "/-/healthy", 2s).status, 200);
  const auto stop = clock::now();
  EXPECT_TRUE(exporter.process().terminate(5s).has_value());
  EXPECT_LT(seconds_since(stop), 5.0);
}

TEST(stuck_read, a_hung_config_read_does_not_lock_the_web_port_or_the_shutdown) {
  if (::access("/usr/bin/strace", X_OK) != 0) GTEST_SKIP() << "strace is not installed";
  temp_dir dir;
  exporter_process exporter(dir, one_refused_target_toml, {"--web.max-connections", "4"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const auto port = exporter.port();
  // Every openat of the config file waits 60 s in the kernel's stead: a hung mount.
  child_process strace({"/usr/bin/strace", "-f", "-o", "/dev/null", "-p",
                        std::to_string(exporter.process().pid()), "-P",
                        exporter.config_path().string(), "-e", "trace=openat", "-e",
                        "inject=openat:delay_enter=60s"},
                       dir.path() / "strace.log");
  for (auto end = clock::now() + 10s;
       clock::now() < end && strace.log().find("attached") == std::string::npos;) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NE(strace.log().find("attached"), std::string::npos) << strace.log();
  std::this_thread::sleep_for(300ms);

  std::atomic<int> reload_status{-1};
  std::atomic<double> reload_seconds{0};
  std::string reload_body;
  std::thread reload([&] {
    const auto start = clock::now();
    auto r = http_request(port, "POST", "/-/reload", 20s);
    reload_seconds = seconds_since(start);
    reload_body = r.body;
    reload_status = r.status;
  });
  std::this_thread::sleep_for(300ms);
  // Requests that need the helper thread, more than the connection cap, each kept waiting.
  std::vector<std::thread> pages;
  std::atomic<int> pages_answered{0};
  for (int i = 0; i < 8; ++i) {
    pages.emplace_back([&] {
      if (http_request(port, "GET", "/", 20s).status != 0) ++pages_answered;
    });
    std::this_thread::sleep_for(50ms);
  }
  int healthy = 0, metrics = 0, asked = 0;
  double worst = 0;
  for (auto end = clock::now() + 12s; clock::now() < end; ++asked) {
    const auto start = clock::now();
    if (http_request(port, "GET", "/-/healthy", 2s).status == 200) ++healthy;
    if (http_request(port, "GET", "/metrics", 2s).status == 200) ++metrics;
    worst = std::max(worst, seconds_since(start));
    std::this_thread::sleep_until(start + 500ms);
  }
  reload.join();
  while (!reload_body.empty() && reload_body.back() == '\n') reload_body.pop_back();
  std::printf("hung config read: /-/reload answered %d after %.3f s (%s); during 12 s "
              "/-/healthy 200 %d/%d, /metrics 200 %d/%d (slowest pair %.3f s); status pages "
              "answered %d/8\n",
              reload_status.load(), reload_seconds.load(), reload_body.c_str(), healthy, asked,
              metrics, asked, worst, pages_answered.load());
  EXPECT_EQ(reload_status, 500);
  EXPECT_LT(reload_seconds, 15.0);
  EXPECT_NE(reload_body.find("did not finish"), std::string::npos) << reload_body;
  EXPECT_EQ(healthy, asked);
  EXPECT_EQ(metrics, asked);

  // The config read is still stuck: SIGTERM must end the process anyway, within 5 s. Under
  // strace the last thread is held by the tracer even after exit_group (a ptrace artefact, not a
  // hung mount's: a read from NFS or FUSE is killable), so "ended" is the process having called
  // exit: its main thread a zombie, or the process gone.
  const int pid = exporter.process().pid();
  const auto stop = clock::now();
  exporter.process().signal(SIGTERM);
  bool ended = false;
  while (!ended && clock::now() < stop + 10s) {
    ended = exited_or_zombie(pid);
    if (!ended) std::this_thread::sleep_for(20ms);
  }
  const double stop_seconds = seconds_since(stop);
  strace.terminate(5s);  // lets the held thread go
  const auto status = exporter.process().wait_exit(5s);
  std::printf("SIGTERM with the read still stuck: %s after %.3f s (%s)\n",
              ended ? "exited" : "still running", stop_seconds,
              status ? ("reaped, status " + std::to_string(*status)).c_str()
                     : "not reaped yet: the tracer still holds its last thread");
  EXPECT_TRUE(ended) << exporter.process().log();
  EXPECT_LT(stop_seconds, 5.0);
  EXPECT_NE(exporter.process().log().find("shutdown did not finish in time"), std::string::npos)
      << exporter.process().log();
  for (auto& t : pages) t.join();
}

}  // namespace
}  // namespace smtp_test
