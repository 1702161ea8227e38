// The web port under hostile clients, through the real binary: connections that never send, or
// trickle one byte now and then, must not keep a scraper out; the header and keep-alive deadlines
// are separate; /-/reload refuses cross-site requests.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

using clock = std::chrono::steady_clock;

std::string banner_config() {
  return "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\nprobes = [\"banner\"]\n\n"
         "[[target]]\nname = \"a\"\nhost = \"127.0.0.1\"\nport = " +
         std::to_string(unused_port()) + "\ntls = \"none\"\n";
}

// `count` targets on a refused port that are never due again: a /metrics page of about
// 0.38 KB per target.
std::string many_targets_config(int count) {
  std::string toml = "[defaults]\ninterval = \"1h\"\ntimeout = \"1s\"\nprobes = [\"banner\"]\n\n";
  const auto refused = unused_port();
  for (int i = 0; i < count; ++i) {
    toml += "[[target]]\nname = \"target-with-a-longish-name-" + std::to_string(i) +
            "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(refused) + "\ntls = \"none\"\n\n";
  }
  return toml;
}

// `receive_buffer` (bytes, 0: the default) is set before connecting, so the window starts small.
int connect_loopback(std::uint16_t port, int receive_buffer = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Reads until `marker` has arrived, EOF or the timeout. Returns what was read; `eof` says if the
// server closed.
std::string read_until(int fd, const std::string& marker, std::chrono::milliseconds timeout,
                       bool& eof) {
  std::string out;
  eof = false;
  auto deadline = clock::now() + timeout;
  while (out.find(marker) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      eof = true;
      break;
    }
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Sends `request` on a new connection; the status code of the reply (0: none).
int raw_status(std::uint16_t port, const std::string& request) {
  int fd = connect_loopback(port);
  if (fd < 0) return 0;
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  bool eof = false;
  auto reply = read_until(fd, "\r\n", 10s, eof);
  ::close(fd);
  if (reply.rfind("HTTP/1.1 ", 0) != 0 || reply.size() < 12) return 0;
  return std::atoi(reply.substr(9, 3).c_str());
}

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 16, '\n');
  }
  return -1;
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

// Issue 13: with 300 idle connections a scrape used to get no answer at all. Here 1,000 connections
// (half silent, half sending a byte every 10 s, each reopened as soon as the server closes it) are
// held against the default limits while a scraper requests /metrics every second.
// SMTP_EXPORTER_LOCKOUT_SECONDS sets the duration (ctest: 20 s; bench/web_lockout.sh: 60 s).
TEST(web_server, idle_and_trickling_connections_do_not_lock_out_a_scraper) {
  const int seconds = env_int("SMTP_EXPORTER_LOCKOUT_SECONDS", 20);
  const int connections = env_int("SMTP_EXPORTER_LOCKOUT_CONNECTIONS", 1000);
  temp_dir dir;
  exporter_process exporter(dir, banner_config());
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const long rss_before = rss_kib(exporter.process().pid());

  child_process clients({"/usr/bin/python3", (source_dir() / "tests/peers/slow_clients.py").string(),
                         "--port", std::to_string(exporter.port()), "--connections",
                         std::to_string(connections)},
                        dir.path() / "slow_clients.log");
  ASSERT_GT(clients.wait_ready(30s), 0) << clients.log();

  // The bar is 1 s per scrape (bench/web_lockout.sh reports it). On a loaded 2-core CI
  // machine shared with other jobs a scrape can stall for other reasons, so ctest wants every
  // scrape answered within SMTP_EXPORTER_LOCKOUT_MAX_SECONDS (default 3) and 90% within 1 s; a
  // lockout, as before the fix, answers none.
  const double max_seconds = env_int("SMTP_EXPORTER_LOCKOUT_MAX_SECONDS", 3);
  int answered = 0;
  int within_1s = 0;
  double worst = 0;
  long rss_max = rss_before;
  std::vector<std::string> failures;
  for (int i = 0; i < seconds; ++i) {
    auto started = clock::now();
    auto reply = http_request(exporter.port(), "GET", "/metrics", 5s);
    double took = std::chrono::duration<double>(clock::now() - started).count();
    worst = std::max(worst, took);
    if (reply.status == 200 && reply.body.find("smtp_exporter_build_info") != std::string::npos &&
        took <= max_seconds) {
      ++answered;
      if (took <= 1.0) ++within_1s;
    } else {
      failures.push_back("scrape " + std::to_string(i) + ": status " +
                         std::to_string(reply.status) + " after " + std::to_string(took) + " s");
    }
    rss_max = std::max(rss_max, rss_kib(exporter.process().pid()));
    std::this_thread::sleep_until(started + 1s);
  }
  ASSERT_TRUE(clients.running()) << clients.log();
  clients.terminate(10s);
  const auto log = clients.log();
  std::printf("lockout: %d s, %d connections: %d/%d scrapes 200 within 1 s (%d within %g s), "
              "worst %.3f s, exporter RSS %ld -> max %ld KiB; clients: %s",
              seconds, connections, within_1s, seconds, answered, max_seconds, worst, rss_before,
              rss_max, log.c_str());
  EXPECT_EQ(answered, seconds) << ::testing::PrintToString(failures);
  EXPECT_GE(within_1s * 10, seconds * 9) << "worst " << worst << " s";
  // The server really was full: it closed the clients' connections (evicted or timed out).
  auto closed = log.find("closed_by_server=");
  ASSERT_NE(closed, std::string::npos) << log;
  EXPECT_GT(std::atol(log.c_str() + closed + 17), 0) << log;
  // ... and says so on /metrics.
  auto text = exporter.scrape();
  EXPECT_GT(metric_value(text, "smtp_exporter_http_connections_dropped_total", {{"reason", "evicted"}})
                .value_or(0),
            0)
      << text;
  EXPECT_TRUE(metric_value(text, "smtp_exporter_http_connections", {}));
  // Bounded: 512 connections at a few KiB each, far from this.
  EXPECT_LT(rss_max - rss_before, 64 * 1024) << "RSS grew from " << rss_before << " to " << rss_max;
  EXPECT_TRUE(exporter.process().running());
}

TEST(web_server, header_deadline_is_short_and_keep_alive_deadline_separate) {
  temp_dir dir;
  exporter_process exporter(dir, banner_config(),
                            {"--web.read-header-timeout", "1s", "--web.idle-timeout", "30s"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();

  // Silent: closed at the header deadline, not at the keep-alive one.
  int silent = connect_loopback(exporter.port());
  ASSERT_GE(silent, 0);
  auto t = clock::now();
  bool eof = false;
  read_until(silent, "never", 20s, eof);
  double closed_after = std::chrono::duration<double>(clock::now() - t).count();
  ::close(silent);
  EXPECT_TRUE(eof);
  EXPECT_LT(closed_after, 10.0);
  EXPECT_GE(metric_value(exporter.scrape(), "smtp_exporter_http_connections_dropped_total",
                         {{"reason", "header_timeout"}})
                .value_or(0),
            1);

  // Trickling a request line: closed at the header deadline although bytes keep coming.
  int trickle = connect_loopback(exporter.port());
  ASSERT_GE(trickle, 0);
  t = clock::now();
  std::string line = "GET /metrics HTTP/1.1\r\n";
  eof = false;
  for (char c : line) {
    if (::send(trickle, &c, 1, MSG_NOSIGNAL) != 1) break;
    read_until(trickle, "never", 300ms, eof);
    if (eof) break;
  }
  ::close(trickle);
  EXPECT_TRUE(eof) << "a request trickled over "
                   << std::chrono::duration<double>(clock::now() - t).count() << " s was served";

  // Kept alive after a request: still usable after more than the header deadline.
  int kept = connect_loopback(exporter.port());
  ASSERT_GE(kept, 0);
  std::string request = "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n";
  ::send(kept, request.data(), request.size(), MSG_NOSIGNAL);
  auto first = read_until(kept, "Healthy.", 10s, eof);
  EXPECT_NE(first.find("200 OK"), std::string::npos) << first;
  std::this_thread::sleep_for(2500ms);
  ::send(kept, request.data(), request.size(), MSG_NOSIGNAL);
  auto second = read_until(kept, "Healthy.", 10s, eof);
  ::close(kept);
  EXPECT_NE(second.find("200 OK"), std::string::npos) << "kept-alive connection closed early";
}

TEST(web_server, reload_refuses_cross_site_requests) {
  temp_dir dir;
  exporter_process exporter(dir, banner_config());
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const auto port = exporter.port();
  const std::string host = "127.0.0.1:" + std::to_string(port);
  auto post = [&](const std::string& extra) {
    return raw_status(port, "POST /-/reload HTTP/1.1\r\nHost: " + host + "\r\n" + extra +
                                "Content-Length: 0\r\nConnection: close\r\n\r\n");
  };
  // A form on another site, as browsers send it.
  EXPECT_EQ(post("Origin: https://evil.example\r\nContent-Type: "
                 "application/x-www-form-urlencoded\r\n"),
            403);
  EXPECT_EQ(post("Origin: null\r\n"), 403);
  EXPECT_EQ(post("Sec-Fetch-Site: cross-site\r\n"), 403);
  EXPECT_EQ(post("Sec-Fetch-Site: same-site\r\n"), 403);
  // The page itself, and tools that send neither header.
  EXPECT_EQ(post("Origin: http://" + host + "\r\nSec-Fetch-Site: same-origin\r\n"), 200);
  EXPECT_EQ(post(""), 200);
}

// Issue 24, finding 6: DNS rebinding. A page on evil.example whose name the attacker then points
// at the exporter is same-origin to the browser: Host and Origin both say evil.example and
// Sec-Fetch-Site says same-origin. The Host header must name the exporter: an IP address (what
// the browser connected to), a localhost name, or a name given with --web.host-name.
TEST(web_server, reload_refuses_a_host_that_is_not_the_exporters) {
  temp_dir dir;
  exporter_process exporter(dir, banner_config());
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const auto port = exporter.port();
  const std::string p = std::to_string(port);
  auto post = [&](const std::string& host, const std::string& origin) {
    return raw_status(port, "POST /-/reload HTTP/1.1\r\nHost: " + host + "\r\nOrigin: " + origin +
                                "\r\nSec-Fetch-Site: same-origin\r\nContent-Length: 0\r\n"
                                "Connection: close\r\n\r\n");
  };
  EXPECT_EQ(post("evil.example:" + p, "http://evil.example:" + p), 403);
  EXPECT_EQ(post("exporter.example:" + p, "http://exporter.example:" + p), 403);
  // Without Origin too (a browser sends one on POST, but the Host alone decides).
  EXPECT_EQ(raw_status(port, "POST /-/reload HTTP/1.1\r\nHost: evil.example:" + p +
                                 "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            403);
  EXPECT_EQ(post("127.0.0.1:" + p, "http://127.0.0.1:" + p), 200);
  EXPECT_EQ(post("localhost:" + p, "http://localhost:" + p), 200);
  EXPECT_EQ(post("LOCALHOST:" + p, "http://localhost:" + p), 200);
  EXPECT_EQ(post("[::1]:" + p, "http://[::1]:" + p), 200);

  temp_dir named_dir;
  exporter_process named(named_dir, banner_config(),
                         {"--web.host-name", "exporter.example",
                          "--web.host-name", "smtp-exporter.monitoring.svc"});
  ASSERT_TRUE(named.started()) << named.process().log();
  const std::string np = std::to_string(named.port());
  auto post_named = [&](const std::string& host) {
    return raw_status(named.port(), "POST /-/reload HTTP/1.1\r\nHost: " + host +
                                        "\r\nOrigin: http://" + host +
                                        "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  };
  EXPECT_EQ(post_named("exporter.example:" + np), 200);
  EXPECT_EQ(post_named("Exporter.Example"), 200);
  EXPECT_EQ(post_named("smtp-exporter.monitoring.svc:" + np), 200);
  EXPECT_EQ(post_named("evil.example:" + np), 403);
  EXPECT_EQ(post_named("exporter.example.evil.example:" + np), 403);
}

// A client that sends requests and never reads the answers: the server holds at most one
// response per connection and drops the connection at the write deadline.
TEST(web_server, clients_that_do_not_read_pin_bounded_memory) {
  temp_dir dir;
  const std::string toml = many_targets_config(2000);
  exporter_process exporter(dir, toml, {"--web.write-timeout", "2s"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const int pid = exporter.process().pid();
  const auto page = http_request(exporter.port(), "GET", "/metrics", 20s);
  ASSERT_EQ(page.status, 200);
  auto open_fds = [pid] {
    return std::distance(fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd"),
                         fs::directory_iterator{});
  };
  const long rss_before = rss_kib(pid);
  const auto fds_before = open_fds();

  // 20 connections, each asking for the (uncompressed) metrics 100 times in one go: far more than
  // the kernel's buffers hold, so the server's writes block.
  constexpr int connections = 20;
  std::string pipeline;
  for (int i = 0; i < 100; ++i) pipeline += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  std::vector<int> fds;
  for (int c = 0; c < connections; ++c) {
    int fd = connect_loopback(exporter.port());
    ASSERT_GE(fd, 0);
    int small = 4096;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    ::send(fd, pipeline.data(), pipeline.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    fds.push_back(fd);
  }
  // The server closes each connection at its write deadline (its descriptor goes; the kernel may
  // still hold the unsent bytes). Never read: reading would let the writes go on.
  long rss_max = rss_before;
  auto fds_max = fds_before;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  bool all_cut = false;
  while (std::chrono::steady_clock::now() < deadline) {
    rss_max = std::max(rss_max, rss_kib(pid));
    const auto now_open = open_fds();
    fds_max = std::max(fds_max, now_open);
    if (fds_max >= fds_before + connections && now_open <= fds_before + 1) {
      all_cut = true;
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  for (int fd : fds) ::close(fd);
  std::printf("non-reading clients: %zu bytes per response, RSS %ld -> max %ld KiB, "
              "descriptors %ld -> max %ld\n",
              page.body.size(), rss_before, rss_max, static_cast<long>(fds_before),
              static_cast<long>(fds_max));
  EXPECT_TRUE(all_cut) << "the server still holds connections that do not read";
  // One response per connection at most, far below 20 x 100 of them (1.5 GB).
  EXPECT_LT((rss_max - rss_before) * 1024L,
            static_cast<long>(page.body.size()) * connections * 3 + 64L * 1024 * 1024);
  EXPECT_EQ(http_request(exporter.port(), "GET", "/-/healthy").status, 200);
}

// Clients that ask for a large /metrics and never read it used to hold every connection "being
// answered" until the write deadline: at the cap, a new connection (the kubelet's /-/healthy, a
// scraper) was refused. Now a connection whose response has made the least progress (after a
// grace second) is closed to make room.
TEST(web_server, clients_that_never_read_their_response_do_not_lock_out_the_kubelet) {
  temp_dir dir;
  const std::string toml = many_targets_config(2000);
  constexpr int cap = 8;
  exporter_process exporter(dir, toml, {"--web.max-connections", std::to_string(cap)});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  ASSERT_EQ(http_request(exporter.port(), "GET", "/metrics", 20s).status, 200);

  // Fill every slot with requests for the uncompressed page (1 MB), pipelined: the kernel takes
  // up to 4 MB of a connection's responses, the rest waits in the server.
  std::vector<int> fds;
  std::string request;
  for (int i = 0; i < 10; ++i) request += "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
  for (int c = 0; c < cap; ++c) {
    int fd = connect_loopback(exporter.port(), 4096);
    ASSERT_GE(fd, 0);
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    fds.push_back(fd);
  }
  // Past the grace second, well before the 30 s write deadline.
  std::this_thread::sleep_for(3s);
  const int healthy = raw_status(exporter.port(), "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n");
  const auto page = http_request(exporter.port(), "GET", "/metrics", 20s);
  for (int fd : fds) ::close(fd);
  EXPECT_EQ(healthy, 200);
  ASSERT_EQ(page.status, 200);
  EXPECT_GE(metric_value(page.body, "smtp_exporter_http_connections_dropped_total",
                         {{"reason", "slow_reader"}})
                .value_or(0),
            1)
      << page.body.substr(0, 2000);
}

// The same, sustained: connections that each pipeline requests for a 0.2 MB /metrics and never
// read, reopened every 5 s, twice as many as the cap, while a scraper requests /metrics and a
// kubelet /-/healthy every second. SMTP_EXPORTER_NONREADING_{SECONDS,CONNECTIONS,CAP,HOLD} set the
// size (ctest: 10 s, 128 against a cap of 64, reopened every 5 s; bench/web_lockout.sh: 60 s,
// 1,000 against 512).
TEST(web_server, non_reading_clients_do_not_lock_out_a_scraper) {
  const int seconds = env_int("SMTP_EXPORTER_NONREADING_SECONDS", 10);
  const int connections = env_int("SMTP_EXPORTER_NONREADING_CONNECTIONS", 128);
  const int cap = env_int("SMTP_EXPORTER_NONREADING_CAP", 64);
  const double max_seconds = env_int("SMTP_EXPORTER_LOCKOUT_MAX_SECONDS", 3);
  temp_dir dir;
  const std::string toml = many_targets_config(300);
  exporter_process exporter(dir, toml, {"--web.max-connections", std::to_string(cap)});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const auto first = http_request(exporter.port(), "GET", "/metrics", 20s);
  ASSERT_EQ(first.status, 200);
  const long rss_before = rss_kib(exporter.process().pid());

  child_process clients({"/usr/bin/python3", (source_dir() / "tests/peers/slow_clients.py").string(),
                         "--port", std::to_string(exporter.port()), "--connections",
                         std::to_string(connections), "--non-reading-fraction", "1",
                         "--pipeline", "40", "--hold",
                         std::getenv("SMTP_EXPORTER_NONREADING_HOLD") != nullptr
                             ? std::getenv("SMTP_EXPORTER_NONREADING_HOLD")
                             : "5"},
                        dir.path() / "slow_clients.log");
  ASSERT_GT(clients.wait_ready(30s), 0) << clients.log();
  std::this_thread::sleep_for(2s);  // every slot taken, past the write grace

  int scrapes = 0, healthy = 0, within_1s = 0;
  double worst = 0;
  long rss_max = rss_before;
  std::vector<std::string> failures;
  for (int i = 0; i < seconds; ++i) {
    const auto started = clock::now();
    const auto reply = http_request(exporter.port(), "GET", "/metrics", 5s);
    const double took = std::chrono::duration<double>(clock::now() - started).count();
    worst = std::max(worst, took);
    if (reply.status == 200 && reply.body.size() >= first.body.size() / 2 && took <= max_seconds) {
      ++scrapes;
      if (took <= 1.0) ++within_1s;
    } else {
      failures.push_back("scrape " + std::to_string(i) + ": status " +
                         std::to_string(reply.status) + " after " + std::to_string(took) + " s");
    }
    const int status = raw_status(exporter.port(), "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n");
    if (status == 200) {
      ++healthy;
    } else {
      failures.push_back("healthy " + std::to_string(i) + ": status " + std::to_string(status));
    }
    rss_max = std::max(rss_max, rss_kib(exporter.process().pid()));
    std::this_thread::sleep_until(started + 1s);
  }
  ASSERT_TRUE(clients.running()) << clients.log();
  clients.terminate(10s);
  const auto text = exporter.scrape();
  const double slow_readers =
      metric_value(text, "smtp_exporter_http_connections_dropped_total", {{"reason", "slow_reader"}})
          .value_or(0);
  const auto dropped = [&](const char* reason) {
    return metric_value(text, "smtp_exporter_http_connections_dropped_total", {{"reason", reason}})
        .value_or(0);
  };
  std::printf("non-reading: %d s, %d connections, cap %d, %zu-byte page: %d/%d scrapes 200 "
              "within 1 s (%d within %g s), worst %.3f s; /-/healthy %d/%d; dropped: %g evicted, "
              "%g refused; %g cut as slow readers; "
              "exporter RSS %ld -> max %ld KiB; clients: %s",
              seconds, connections, cap, first.body.size(), within_1s, seconds, scrapes,
              max_seconds, worst, healthy, seconds, dropped("evicted"), dropped("refused"),
              slow_readers, rss_before, rss_max,
              clients.log().c_str());
  EXPECT_EQ(scrapes, seconds) << ::testing::PrintToString(failures);
  EXPECT_EQ(healthy, seconds) << ::testing::PrintToString(failures);
  EXPECT_GT(slow_readers, 0) << text.substr(0, 2000);
  EXPECT_TRUE(exporter.process().running());
}

}  // namespace
}  // namespace smtp_test
