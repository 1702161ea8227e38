// Basic auth under a flood of wrong passwords (issue 24, finding 1), through the real binary and
// real sockets: 16 clients, each on its own loopback source address (127.0.0.2 to 127.0.0.17),
// send wrong passwords as fast as the exporter answers, while a Prometheus-like client on
// 127.0.0.1 asks for /metrics with the right password every 250 ms (a new connection each time,
// a 10 s deadline as Prometheus's default scrape timeout). Halfway through, the web config file
// is replaced (same users, new inode), which drops the verified credentials the exporter
// remembers: the right password must then get through the flood again, through a fresh bcrypt.
//
// Before the fix every right-password request got 429 (the 8-place bcrypt queue was kept full by
// the flood); the right password must now succeed at least 95% of the time.
// SMTP_EXPORTER_AUTH_FLOOD_SECONDS sets the length of each half (default 6; bench/web_auth_flood.sh
// runs it longer and prints the same line).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

// One GET from `source` (a loopback address) with `authorization`; the status, 0 when no answer
// came within `timeout`.
int get_from(const char* source, std::uint16_t port, const std::string& path,
             const std::string& authorization, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &local.sin_addr);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  int status = 0;
  std::string raw;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) == 0) {
    ::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote);
    pollfd writable{fd, POLLOUT, 0};
    if (::poll(&writable, 1, remaining_ms(deadline)) > 0) {
      const std::string request = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  "Authorization: " + authorization + "\r\n"
                                  "Connection: close\r\n\r\n";
      if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
          static_cast<ssize_t>(request.size())) {
        while (raw.size() < 12) {
          pollfd readable{fd, POLLIN, 0};
          if (::poll(&readable, 1, remaining_ms(deadline)) <= 0) break;
          char buffer[4096];
          const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
          if (n <= 0) break;
          raw.append(buffer, static_cast<std::size_t>(n));
        }
      }
    }
  }
  ::close(fd);
  if (raw.size() >= 12 && raw.rfind("HTTP/1.", 0) == 0) status = std::atoi(raw.c_str() + 9);
  return status;
}

std::string basic(const std::string& user, const std::string& password) {
  return "Basic " + smtp_exporter::base64_encode(user + ":" + password);
}

struct tally {
  std::mutex mutex;
  std::map<int, int> by_status;
  void add(int status) {
    std::lock_guard lock(mutex);
    ++by_status[status];
  }
  int total() {
    std::lock_guard lock(mutex);
    int n = 0;
    for (const auto& [s, c] : by_status) n += c;
    return n;
  }
  int of(int status) {
    std::lock_guard lock(mutex);
    return by_status[status];
  }
  std::string text() {
    std::lock_guard lock(mutex);
    std::string out;
    for (const auto& [s, c] : by_status) out += " " + std::to_string(s) + ":" + std::to_string(c);
    return out;
  }
};

TEST(web_auth_flood, the_right_password_gets_through_a_flood_of_wrong_ones) {
  const char* env = std::getenv("SMTP_EXPORTER_AUTH_FLOOD_SECONDS");
  const auto half = std::chrono::seconds(env != nullptr ? std::atoi(env) : 6);
  temp_dir dir;
  const std::string hash = bcrypt_hash("right-password", 10);
  ASSERT_FALSE(hash.empty());
  const std::string web_yaml = "basic_auth_users:\n  prometheus: '" + hash + "'\n";
  const auto web_file = dir.write("web.yml", web_yaml);
  exporter_process exporter(dir, one_refused_target_toml,
                            {"--web.config.file", web_file.string()});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const auto port = exporter.port();

  std::atomic<bool> stop{false};
  tally flood;
  std::vector<std::thread> flooders;
  constexpr int flooding_clients = 16;
  for (int i = 0; i < flooding_clients; ++i) {
    flooders.emplace_back([&, i] {
      const std::string source = "127.0.0." + std::to_string(2 + i);
      const std::string wrong = basic("prometheus", "guess-" + std::to_string(i));
      while (!stop) flood.add(get_from(source.c_str(), port, "/metrics", wrong, 10s));
    });
  }
  // The flood first: the right password's first request meets a full queue.
  std::this_thread::sleep_for(1s);

  tally scrapes;
  double worst = 0;
  const std::string right = basic("prometheus", "right-password");
  auto scrape_for = [&](std::chrono::seconds length) {
    const auto end = clock::now() + length;
    while (clock::now() < end) {
      const auto start = clock::now();
      scrapes.add(get_from("127.0.0.1", port, "/metrics", right, 10s));
      worst = std::max(worst, std::chrono::duration<double>(clock::now() - start).count());
      std::this_thread::sleep_until(start + 250ms);
    }
  };
  scrape_for(half);
  // Same users, a new file: the exporter reloads it within 5 s and forgets what it verified.
  replace_file(web_file, web_yaml);
  scrape_for(half + std::chrono::seconds(5));
  stop = true;
  for (auto& t : flooders) t.join();

  const int total = scrapes.total();
  const double rate = total > 0 ? 100.0 * scrapes.of(200) / total : 0;
  std::printf("auth flood: %d clients on 16 addresses sent %d wrong passwords (status:count%s); "
              "the right password: %d/%d answered 200 (%.1f%%; status:count%s), slowest %.3f s\n",
              flooding_clients, flood.total(), flood.text().c_str(), scrapes.of(200), total, rate,
              scrapes.text().c_str(), worst);
  EXPECT_GE(rate, 95.0) << scrapes.text();
  EXPECT_GT(flood.total(), 0);
  EXPECT_EQ(flood.of(200), 0) << "a wrong password got in";
  // The reload was applied (the log says so), so the second half needed a fresh bcrypt.
  EXPECT_NE(exporter.process().log().find("web configuration reloaded"), std::string::npos)
      << exporter.process().log();
}

}  // namespace
}  // namespace smtp_test
