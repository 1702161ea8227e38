// The web password does not stay in the exporter's memory after the requests that carried it
// (issue 24, finding 8): a canary password is sent in Authorization headers (wrong and right,
// one request per connection and several on a kept-alive one), then the test, as root, reads
// every readable mapping of the child exporter through /proc/PID/mem and looks for the canary, in
// plain text and as the header's base64. Before the fix the request buffers and header fields
// were freed without being wiped, and the header was found in the heap.
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

struct found {
  std::string region;
  std::size_t offset = 0;
};

// Where `needle` occurs in the readable memory of process `pid` (first hits only).
std::vector<found> search_memory(int pid, const std::string& needle, std::string& error) {
  std::vector<found> hits;
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  const int mem = ::open(("/proc/" + std::to_string(pid) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
  if (!maps || mem < 0) {
    error = "cannot open /proc/PID/maps or mem (not root?)";
    if (mem >= 0) ::close(mem);
    return hits;
  }
  std::string line;
  std::size_t scanned = 0;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, name;
    fields >> range >> perms >> offset >> device >> inode;
    std::getline(fields, name);
    if (perms.empty() || perms[0] != 'r' || name.find("[vvar]") != std::string::npos ||
        name.find("[vsyscall]") != std::string::npos) {
      continue;
    }
    const auto dash = range.find('-');
    const unsigned long start = std::stoul(range.substr(0, dash), nullptr, 16);
    const unsigned long end = std::stoul(range.substr(dash + 1), nullptr, 16);
    std::string bytes(end - start, '\0');
    const ssize_t n = ::pread(mem, bytes.data(), bytes.size(), static_cast<off_t>(start));
    if (n <= 0) continue;
    bytes.resize(static_cast<std::size_t>(n));
    scanned += bytes.size();
    for (auto at = bytes.find(needle); at != std::string::npos && hits.size() < 20;
         at = bytes.find(needle, at + 1)) {
      hits.push_back({line, at});
    }
  }
  ::close(mem);
  if (scanned == 0) error = "no memory could be read";
  return hits;
}

// Sends each of `requests` on one connection to 127.0.0.1:`port` and reads until the server
// closes it or 10 s pass.
void send_on_one_connection(std::uint16_t port, const std::string& requests) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval timeout{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
    ::send(fd, requests.data(), requests.size(), MSG_NOSIGNAL);
    char buffer[65536];
    while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
  }
  ::close(fd);
}

TEST(web_password_memory, the_password_is_wiped_after_the_requests_that_carried_it) {
  if (::geteuid() != 0) GTEST_SKIP() << "reading another process's memory needs root";
  temp_dir dir;
  // Made at run time, so that the test binary's own text does not hold it either.
  const std::string canary = "Canary-" + std::to_string(::getpid()) + "-" +
                             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string header = smtp_exporter::base64_encode("prometheus:" + canary);
  const std::string wrong_header = smtp_exporter::base64_encode("intruder:" + canary);
  const auto web_file = dir.write("web.yml", "basic_auth_users:\n  prometheus: '" +
                                                 bcrypt_hash(canary, 4) + "'\n");
  exporter_process exporter(dir, one_refused_target_toml,
                            {"--web.config.file", web_file.string()});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const auto port = exporter.port();

  auto get = [](const std::string& path, const std::string& authorization, bool close) {
    return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic " +
           authorization + "\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n";
  };
  // Wrong user (a check against the dummy hash), right password (a check, then remembered), and
  // several on one kept-alive connection, pipelined.
  send_on_one_connection(port, get("/metrics", wrong_header, true));
  send_on_one_connection(port, get("/metrics", header, true));
  send_on_one_connection(port, get("/metrics", header, false) + get("/", header, false) +
                                   get("/metrics", wrong_header, true));
  for (int i = 0; i < 5; ++i) send_on_one_connection(port, get("/-/healthy", header, true));
  // The requests have been answered; the connections are closed.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  std::string error;
  for (const auto& [what, needle] : {std::pair{"the password", canary},
                                     std::pair{"the Authorization header's base64", header},
                                     std::pair{"the wrong user's header", wrong_header}}) {
    const auto hits = search_memory(exporter.process().pid(), needle, error);
    ASSERT_TRUE(error.empty()) << error;
    std::printf("%s: %zu copies in the exporter's memory\n", what, hits.size());
    for (const auto& h : hits) std::printf("  at +%zu in %s\n", h.offset, h.region.c_str());
    EXPECT_TRUE(hits.empty()) << what << " found in the exporter's memory";
  }
  // The search finds what is there: the header's base64 while the exporter reads it, from this
  // process (a sanity check of the search itself).
  const auto self = search_memory(::getpid(), header, error);
  EXPECT_FALSE(self.empty()) << "the search finds nothing, even in this process";
}

}  // namespace
}  // namespace smtp_test
