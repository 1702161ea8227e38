// Descriptors: the exporter raises its soft RLIMIT_NOFILE to the hard limit at start, and a probe
// that finds no free descriptor says so (descriptors_exhausted) instead of blaming the target.
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

// SOFT and HARD of the line of /proc/PID/limits that starts with `name`.
std::pair<std::string, std::string> limits(int pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) == 0) {
      std::istringstream fields(line.substr(name.size()));
      std::string soft, hard;
      fields >> soft >> hard;
      return {soft, hard};
    }
  }
  return {};
}

std::pair<std::string, std::string> nofile_limits(int pid) {
  return limits(pid, "Max open files");
}

// The exporter under `ulimit` settings given to the shell that execs it.
struct limited_exporter {
  limited_exporter(const temp_dir& dir, const std::string& ulimits, const std::string& toml,
                   const std::string& extra_flags = "") {
    auto config = dir.write("smtp_exporter.toml", toml);
    port = unused_port();
    process = std::make_unique<child_process>(
        std::vector<std::string>{"/bin/sh", "-c",
                                 ulimits + " && exec " + exporter_binary().string() +
                                     " --config.file " + config.string() +
                                     " --web.listen-address 127.0.0.1:" + std::to_string(port) +
                                     " " + extra_flags},
        dir.path() / "exporter.log");
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline && process->running()) {
      if (http_request(port, "GET", "/-/ready", 1s).status == 200) {
        ready = true;
        break;
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  std::unique_ptr<child_process> process;
  std::uint16_t port = 0;
  bool ready = false;
};

TEST(descriptors, soft_limit_is_raised_to_the_hard_limit_at_start) {
  temp_dir dir;
  limited_exporter exporter(dir, "ulimit -S -n 64",
                            "[[target]]\nname = \"a\"\nprobes = [\"banner\"]\nhost = \"127.0.0.1\"\nport = " +
                                std::to_string(unused_port()) + "\ntls = \"none\"\n");
  ASSERT_TRUE(exporter.ready) << exporter.process->log();
  auto [soft, hard] = nofile_limits(exporter.process->pid());
  ASSERT_FALSE(hard.empty());
  EXPECT_NE(hard, "64");
  EXPECT_EQ(soft, hard);
  EXPECT_NE(exporter.process->log().find("was=64"), std::string::npos) << exporter.process->log();
}

// Attack review, finding 8: the process holds secrets, so it writes no core file, whatever limit
// it was started with; its own /proc files (descriptor counts for process_open_fds) still work.
TEST(descriptors, no_core_dumps_whatever_the_inherited_limit) {
  temp_dir dir;
  limited_exporter exporter(dir, "ulimit -c unlimited",
                            "[[target]]\nname = \"a\"\nprobes = [\"banner\"]\nhost = \"127.0.0.1\"\nport = " +
                                std::to_string(unused_port()) + "\ntls = \"none\"\n");
  ASSERT_TRUE(exporter.ready) << exporter.process->log();
  auto [soft, hard] = limits(exporter.process->pid(), "Max core file size");
  EXPECT_EQ(soft, "0");
  EXPECT_EQ(hard, "0");
  auto text = http_request(exporter.port, "GET", "/metrics").body;
  EXPECT_NE(text.find("\nprocess_open_fds "), std::string::npos) << "own /proc still readable";
}

TEST(descriptors, exhaustion_is_its_own_reason_not_the_targets_fault) {
  temp_dir dir;
  blackhole_listener blackhole;  // connects stall until the deadline, each holding a descriptor
  std::string toml = "[defaults]\ninterval = \"4s\"\ntimeout = \"3s\"\nprobes = [\"banner\"]\n\n";
  std::vector<std::string> names;
  for (int i = 0; i < 120; ++i) {
    names.push_back("t" + std::to_string(i));
    toml += "[[target]]\nname = \"" + names.back() + "\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(blackhole.port()) + "\ntls = \"none\"\n\n";
  }
  // No start-up window: every first run at its offset in the 4 s interval, so about 90 connects
  // are pending at once, far more than the 48 descriptors allow.
  limited_exporter exporter(dir, "ulimit -n 48", toml, "--probe.startup-window=0s");
  ASSERT_TRUE(exporter.ready) << exporter.process->log();
  std::string text;
  int exhausted = 0, timed_out = 0, other = 0;
  auto deadline = std::chrono::steady_clock::now() + 40s;
  while (std::chrono::steady_clock::now() < deadline) {
    // The scrape needs a descriptor too: the listener retries accept until one is free.
    auto reply = http_request(exporter.port, "GET", "/metrics", 10s);
    if (reply.status == 200) {
      text = reply.body;
      exhausted = timed_out = other = 0;
      for (const auto& n : names) {
        auto r = probe_result(text, n, "banner");
        if (r == "descriptors_exhausted") ++exhausted;
        else if (r == "connect_timeout") ++timed_out;
        else if (r != "pending") ++other;
      }
      if (exhausted > 0 && timed_out > 0) break;
    }
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_GT(exhausted, 0) << text;
  EXPECT_GT(timed_out, 0);
  // Never blamed on the target: no connect_unreachable, no resolve_failed.
  EXPECT_EQ(other, 0) << text;
  EXPECT_TRUE(exporter.process->running()) << exporter.process->log();
}

}  // namespace
}  // namespace smtp_test
