// The exporter's HTTP surface and reload, through the real binary.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <atomic>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

std::string config_with(const std::vector<std::string>& names, std::uint16_t port) {
  std::string toml = "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\nprobes = [\"banner\"]\n\n";
  for (const auto& n : names) {
    toml += "[[target]]\nname = \"" + n + "\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(port) + "\ntls = \"none\"\n\n";
  }
  return toml;
}

class http_surface : public ::testing::Test {
 protected:
  void SetUp() override {
    exporter_ = std::make_unique<exporter_process>(dir_, config_with({"a", "b"}, unused_port()));
    ASSERT_TRUE(exporter_->started()) << exporter_->process().log();
  }
  temp_dir dir_;
  std::unique_ptr<exporter_process> exporter_;
};

TEST_F(http_surface, routes_and_methods) {
  auto port = exporter_->port();
  auto metrics = http_request(port, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(metrics.body.find("# HELP smtp_probe_result_info"), std::string::npos);
  EXPECT_NE(metrics.body.find("scrapes never trigger probes"), std::string::npos);
  EXPECT_EQ(metric_value(metrics.body, "smtp_exporter_build_info", {}), 1);
  EXPECT_TRUE(metric_value(metrics.body, "process_resident_memory_bytes", {}));
  EXPECT_TRUE(metric_value(metrics.body, "process_start_time_seconds", {}));

  auto landing = http_request(port, "GET", "/");
  EXPECT_EQ(landing.status, 200);
  EXPECT_NE(landing.body.find("href=\"/metrics\""), std::string::npos);
  EXPECT_EQ(http_request(port, "GET", "/-/healthy").status, 200);
  EXPECT_EQ(http_request(port, "GET", "/-/ready").status, 200);
  EXPECT_EQ(http_request(port, "GET", "/nope").status, 404);
  auto get_reload = http_request(port, "GET", "/-/reload");
  EXPECT_EQ(get_reload.status, 405);
  EXPECT_EQ(get_reload.headers["allow"], "POST");
  EXPECT_EQ(http_request(port, "DELETE", "/metrics").status, 405);
}

// Found in review: a HEAD response carried its body, which a keep-alive client then read as the
// start of the next response.
TEST_F(http_surface, head_sends_headers_only_on_a_kept_alive_connection) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(exporter_->port());
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string requests =
      "HEAD /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /-/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(fd, requests.data(), requests.size(), 0), static_cast<ssize_t>(requests.size()));
  std::string raw;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) raw.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  auto first_end = raw.find("\r\n\r\n");
  ASSERT_NE(first_end, std::string::npos) << raw;
  EXPECT_NE(raw.substr(0, first_end).find("Content-Length: 9"), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(first_end + 4, 15), "HTTP/1.1 200 OK") << raw;
  EXPECT_NE(raw.find("Ready."), std::string::npos);
  EXPECT_EQ(raw.find("Healthy."), std::string::npos);
}

TEST_F(http_surface, custom_telemetry_path) {
  temp_dir dir;
  exporter_process exporter(dir, config_with({"x"}, unused_port()),
                            {"--web.telemetry-path", "/probe-metrics"});
  ASSERT_TRUE(exporter.started());
  EXPECT_EQ(http_request(exporter.port(), "GET", "/probe-metrics").status, 200);
  EXPECT_EQ(http_request(exporter.port(), "GET", "/metrics").status, 404);
}

TEST_F(http_surface, malformed_request_gets_400_and_server_survives) {
  // A raw request line that is not HTTP.
  auto reply = http_request(exporter_->port(), "BAD REQUEST LINE", "/");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(http_request(exporter_->port(), "GET", "/-/healthy").status, 200);
}

TEST_F(http_surface, reload_by_http_adds_and_removes_targets) {
  auto refused = unused_port();
  exporter_->rewrite_config(config_with({"a", "c"}, refused));
  auto reply = http_request(exporter_->port(), "POST", "/-/reload");
  EXPECT_EQ(reply.status, 200) << reply.body;
  auto text = exporter_->scrape();
  EXPECT_EQ(metric_value(text, "smtp_exporter_config_last_reload_successful", {}), 1);
  EXPECT_TRUE(metric_value(text, "smtp_probe_runs_total", {{"target", "c"}}));
  EXPECT_FALSE(metric_value(text, "smtp_probe_runs_total", {{"target", "b"}}));
  EXPECT_EQ(metric_value(text, "smtp_exporter_targets", {}), 2);
}

TEST_F(http_surface, bad_reload_keeps_the_running_config) {
  auto before = exporter_->scrape();
  auto ts_before = metric_value(before, "smtp_exporter_config_last_reload_success_timestamp_seconds", {});
  exporter_->rewrite_config("[[target]]\nname = \"a\"\nport = 99999\n");
  auto reply = http_request(exporter_->port(), "POST", "/-/reload");
  EXPECT_EQ(reply.status, 500);
  EXPECT_NE(reply.body.find("smtp_exporter.toml:3:"), std::string::npos) << reply.body;
  auto text = exporter_->scrape();
  EXPECT_EQ(metric_value(text, "smtp_exporter_config_last_reload_successful", {}), 0);
  EXPECT_EQ(metric_value(text, "smtp_exporter_config_last_reload_success_timestamp_seconds", {}), ts_before);
  EXPECT_EQ(metric_value(text, "smtp_exporter_targets", {}), 2);
  EXPECT_TRUE(metric_value(text, "smtp_probe_runs_total", {{"target", "b"}}));
}

TEST_F(http_surface, reload_with_a_missing_ca_file_fails_and_the_next_good_one_applies) {
  exporter_->rewrite_config(config_with({"a"}, unused_port()) +
                            "[[target]]\nname = \"tls\"\nhost = \"127.0.0.1\"\nport = 587\n"
                            "probes = [\"banner\", \"tls\"]\n[target.tls]\nmode = \"starttls\"\n"
                            "ca_file = \"/nonexistent/ca.pem\"\n");
  auto bad = http_request(exporter_->port(), "POST", "/-/reload");
  EXPECT_EQ(bad.status, 500);
  EXPECT_NE(bad.body.find("smtp_exporter.toml:19:11: target[1].tls.ca_file: cannot load CA file "
                         "\"/nonexistent/ca.pem\": No such file or directory"),
            std::string::npos)
      << bad.body;
  EXPECT_EQ(metric_value(exporter_->scrape(), "smtp_exporter_targets", {}), 2);  // a and b still run

  exporter_->rewrite_config(config_with({"a", "b", "c"}, unused_port()));
  exporter_->process().signal(SIGHUP);
  auto text = exporter_->scrape_until(
      [](const std::string& t) { return metric_value(t, "smtp_exporter_targets", {}) == 3.0; }, 10s);
  EXPECT_EQ(metric_value(text, "smtp_exporter_targets", {}), 3);
  EXPECT_EQ(metric_value(text, "smtp_exporter_config_last_reload_successful", {}), 1);
}

TEST_F(http_surface, sighup_reloads) {
  exporter_->rewrite_config(config_with({"a", "b", "d"}, unused_port()));
  exporter_->process().signal(SIGHUP);
  auto text = exporter_->scrape_until([](const std::string& t) {
    return metric_value(t, "smtp_exporter_targets", {}) == 3.0;
  }, 10s);
  EXPECT_EQ(metric_value(text, "smtp_exporter_targets", {}), 3);
  EXPECT_EQ(metric_value(text, "smtp_exporter_config_last_reload_successful", {}), 1);
}

// Finding 10 of the attack review: writing the file in place during a reload applied an empty
// file (0 targets) seven times, dropping every series. An empty config is refused while targets
// run, and a file that keeps changing is read until two reads agree.
TEST_F(http_surface, a_reload_to_nothing_is_refused) {
  exporter_->rewrite_config("");
  auto reply = http_request(exporter_->port(), "POST", "/-/reload");
  EXPECT_EQ(reply.status, 500) << reply.body;
  EXPECT_NE(reply.body.find("refused: the new configuration has no target and no module, the "
                            "running one has 2 (an empty or truncated file?)"),
            std::string::npos)
      << reply.body;
  auto text = exporter_->scrape();
  EXPECT_EQ(metric_value(text, "smtp_exporter_targets", {}), 2);
  EXPECT_EQ(metric_value(text, "smtp_exporter_config_last_reload_successful", {}), 0);
}

TEST_F(http_surface, torn_writes_during_reloads_never_apply) {
  // A writer truncates the file and writes it back in two halves, over and over, while reloads
  // run; no reload may apply a torn file (0 targets, or a half that parses).
  const auto full = config_with({"a", "b"}, unused_port());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    const auto path = exporter_->config_path();
    while (!stop) {
      {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out << full.substr(0, full.size() / 2) << std::flush;
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
        out << full.substr(full.size() / 2);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  });
  int applied = 0, refused = 0, wrong = 0;
  for (int i = 0; i < 40; ++i) {
    auto reply = http_request(exporter_->port(), "POST", "/-/reload");
    if (reply.status == 200) {
      ++applied;
      if (reply.body.find("configuration reloaded: 2 targets") == std::string::npos) ++wrong;
    } else {
      ++refused;
    }
    if (metric_value(exporter_->scrape(), "smtp_exporter_targets", {}) != 2.0) ++wrong;
  }
  stop = true;
  writer.join();
  std::printf("torn writes: %d reloads applied, %d refused, %d wrong\n", applied, refused, wrong);
  EXPECT_EQ(wrong, 0) << applied << " applied, " << refused << " refused";
  // How many reloads find two agreeing reads while the writer runs is chance (0 of 40 under
  // load); once the file holds still, the next reload applies it.
  auto settled = http_request(exporter_->port(), "POST", "/-/reload");
  EXPECT_EQ(settled.status, 200) << settled.body;
  EXPECT_NE(settled.body.find("configuration reloaded: 2 targets"), std::string::npos)
      << settled.body;
}

TEST_F(http_surface, sigterm_stops_promptly) {
  auto status = exporter_->process().terminate(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
}

// Every answer says nosniff, errors included: a 404 or a 400 quotes the request, and a browser
// must never sniff such a body into HTML. Before the one response helper (exporter/web/
// responses.hpp) the 401, 404, 405 and /metrics answers lacked it.
TEST(http_headers, every_answer_says_nosniff) {
  temp_dir dir;
  const auto web = dir.write(
      "web.yml",
      "basic_auth_users:\n  alice: $2y$04$Y6s2nXCtmjPZ5tn8Fr7EYu5aSTBZk1c9lZMlGeDbJ4VBI.Sa0ijIS\n");
  const auto config = config_with({"a"}, unused_port());
  {
    exporter_process open(dir, config);
    ASSERT_TRUE(open.started()) << open.process().log();
    const std::pair<const char*, const char*> requests[] = {
        {"GET", "/nope"}, {"DELETE", "/metrics"}, {"GET", "/metrics"}, {"POST", "/probe"},
        {"GET", "/-/healthy"}, {"GET", "/-/ready"}, {"GET", "/"},
        {"GET", "/probe?module=none&target=a:25"}, {"GET", "/probe/debug"},
        {"BAD REQUEST LINE", "/"}};  // the server's own 400
    for (const auto& [method, path] : requests) {
      auto reply = http_request(open.port(), method, path);
      EXPECT_NE(reply.status, 0) << method << " " << path;
      EXPECT_EQ(reply.headers["x-content-type-options"], "nosniff") << method << " " << path;
    }
  }
  exporter_process guarded(dir, config, {"--web.config.file", web.string()});
  ASSERT_TRUE(guarded.started()) << guarded.process().log();
  auto refused = http_request(guarded.port(), "GET", "/metrics");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.headers["x-content-type-options"], "nosniff");
  auto healthy = http_request(guarded.port(), "GET", "/-/healthy");
  EXPECT_EQ(healthy.status, 200);
  EXPECT_EQ(healthy.headers["x-content-type-options"], "nosniff");
}

TEST(cli, config_check_exit_codes) {
  temp_dir dir;
  auto good = dir.write("good.toml", config_with({"a"}, 2525));
  auto bad = dir.write("bad.toml", "[[target]]\nname = \"a\"\nhost = \"h\"\nport = 0\n");
  auto run = [&](const fs::path& file) {
    child_process p({exporter_binary().string(), "--config.check", "--config.file", file.string()},
                    dir.path() / "check.log");
    int status = p.wait_exit(10s).value_or(-1);
    return std::make_pair(status, p.log());
  };
  auto [good_status, good_log] = run(good);
  EXPECT_EQ(good_status, 0) << good_log;
  auto [bad_status, bad_log] = run(bad);
  EXPECT_EQ(bad_status, 1);
  EXPECT_NE(bad_log.find("bad.toml:4:"), std::string::npos) << bad_log;
}

TEST(startup_window, first_results_come_within_the_window_even_with_an_hour_interval) {
  temp_dir dir;
  std::string toml = "[defaults]\ninterval = \"1h\"\ntimeout = \"1s\"\nprobes = [\"banner\"]\n\n";
  std::vector<std::string> names;
  const auto refused = unused_port();
  for (int i = 0; i < 5; ++i) {
    names.push_back("hourly-" + std::to_string(i));
    toml += "[[target]]\nname = \"" + names.back() + "\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(refused) + "\ntls = \"none\"\n\n";
  }
  // Their stable offsets lie anywhere in the hour; the window brings the first runs within 3 s.
  exporter_process exporter(dir, toml, {"--probe.startup-window=3s"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided(names, "banner", 30s);
  for (const auto& name : names)
    EXPECT_EQ(probe_result(text, name, "banner"), "connect_refused") << name << "\n" << text;
}

TEST(cli, invalid_startup_window_is_refused) {
  temp_dir dir;
  auto file = dir.write("good.toml", config_with({"a"}, 2525));
  child_process p({exporter_binary().string(), "--config.file", file.string(),
                   "--probe.startup-window=soon"},
                  dir.path() / "run.log");
  EXPECT_EQ(p.wait_exit(10s).value_or(-1), 1);
  EXPECT_NE(p.log().find("--probe.startup-window: invalid duration \"soon\""), std::string::npos)
      << p.log();
}

TEST(cli, bundled_default_config_is_valid) {
  temp_dir dir;
  child_process p({exporter_binary().string(), "--config.check", "--config.file",
                   (source_dir() / "config/smtp_exporter.toml").string()},
                  dir.path() / "check.log");
  EXPECT_EQ(p.wait_exit(10s).value_or(-1), 0) << p.log();
}

TEST(promtool, check_metrics_passes_on_a_real_scrape) {
  temp_dir dir;
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir, port);
  ASSERT_NE(port, 0);
  std::string toml = config_with({"ok"}, port) +
                     "[[target]]\nname = \"refused\"\nhost = \"127.0.0.1\"\nport = " +
                     std::to_string(unused_port()) + "\ntls = \"none\"\nlabels = { team = \"billing\" }\n";
  exporter_process exporter(dir, toml);
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until([](const std::string& t) {
    return metric_value(t, "smtp_probe_runs_total", {{"target", "ok"}}).value_or(0) >= 1 &&
           metric_value(t, "smtp_probe_runs_total", {{"target", "refused"}}).value_or(0) >= 1;
  });
  auto file = dir.write("scrape.txt", text);
  auto out = dir.path() / "promtool.log";
  std::string cmd = "promtool check metrics < " + file.string() + " > " + out.string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(rc, 0) << log << "\n" << text;
}

}  // namespace
}  // namespace smtp_test
