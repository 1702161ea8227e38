// What the sender-readiness checks cost (issue 22), against a scripted DNS server on loopback
// (tests/peers/zone_dns.py) holding realistic records: 4 egress IPs with PTRs, 10 sender domains
// whose SPF records include a provider's chain (4 lookups, as Google's and Microsoft's do) and a
// record of their own (a, mx), and a DMARC record each (half of them at the organisational
// domain only).
//
//   bench_sender [--rounds 20]
//
// The same 40 SPF evaluations (4 egress IPs x 10 domains) by the exporter and by Debian's pyspf
// (python3-spf, tests/peers/pyspf_check.py, which times its evaluations alone) through the same
// server, side by side in one run: wall time, CPU and the ratio. Queries and CPU per whole round
// (reverse DNS, SPF, DMARC; no cache, cold, warm) are bench_sender_dns's.
//
// Figures go to bench/README.md. Nothing here is asserted: it prints.
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "exporter/runtime/run_to_completion.hpp"
#include "exporter/sender/evaluate.hpp"
#include "exporter/sender/runner.hpp"
#include "probes/dns/dns_lookup.hpp"
#include "tests/support/harness.hpp"

namespace asio = boost::asio;
namespace probes = smtp_exporter::probes;
namespace ex = smtp_exporter::exporter;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

const char* ips[] = {"192.0.2.10", "192.0.2.11", "198.51.100.20", "203.0.113.7"};

std::string zone_yaml() {
  std::string z = "zonedata:\n";
  int n = 0;
  for (const char* ip : ips) {
    std::string s = ip, reversed;
    for (std::size_t pos = s.size(); pos != std::string::npos;) {
      const auto dot = s.rfind('.', pos == s.size() ? pos : pos - 1);
      const auto start = dot == std::string::npos ? 0 : dot + 1;
      reversed += (reversed.empty() ? "" : ".") + s.substr(start, pos - start);
      pos = dot == std::string::npos ? std::string::npos : dot;
    }
    const std::string name = "out" + std::to_string(n++) + ".mail.bench.example";
    z += "  " + reversed + ".in-addr.arpa:\n    - PTR: " + name + "\n  " + name + ":\n    - A: " +
         ip + "\n";
  }
  // A provider's SPF chain: include -> 3 netblock records (4 DNS lookups), like _spf.google.com.
  z += "  _spf.provider.test:\n    - TXT: \"v=spf1 include:_nb1.provider.test "
       "include:_nb2.provider.test include:_nb3.provider.test ~all\"\n";
  for (int i = 1; i <= 3; ++i) {
    z += "  _nb" + std::to_string(i) + ".provider.test:\n    - TXT: \"v=spf1 ip4:10." +
         std::to_string(i) + ".0.0/16 ip4:172.16." + std::to_string(i) + ".0/24 ip6:2001:db8:" +
         std::to_string(i) + "::/48" + (i == 3 ? " ip4:198.51.100.0/24 ip4:203.0.113.0/24" : "") +
         " ~all\"\n";
  }
  for (int d = 0; d < 10; ++d) {
    const std::string domain = (d % 2 ? "mail.d" : "d") + std::to_string(d) + ".example";
    const std::string org = "d" + std::to_string(d) + ".example";
    z += "  " + domain + ":\n    - TXT: \"v=spf1 include:_spf.provider.test a mx ip4:192.0.2.0/24 "
         "-all\"\n    - A: 192.0.2.10\n    - MX: [10, mx." + org + "]\n";
    z += "  mx." + org + ":\n    - A: 192.0.2.11\n";
    z += "  _dmarc." + org + ":\n    - TXT: \"v=DMARC1; p=quarantine; rua=mailto:r@" + org +
         "\"\n";
  }
  // pyspf's scenarios: the same 40 (IP, domain) pairs.
  z += "tests:\n";
  for (int d = 0; d < 10; ++d) {
    const std::string domain = (d % 2 ? "mail.d" : "d") + std::to_string(d) + ".example";
    for (int i = 0; i < 4; ++i) {
      z += "  d" + std::to_string(d) + "ip" + std::to_string(i) + ":\n    host: " + ips[i] +
           "\n    mailfrom: postmaster@" + domain + "\n    helo: bench.test\n    result: pass\n";
    }
  }
  return z;
}

std::vector<std::string> domains() {
  std::vector<std::string> out;
  for (int d = 0; d < 10; ++d) out.push_back((d % 2 ? "mail.d" : "d") + std::to_string(d) + ".example");
  return out;
}

double cpu_seconds(int who) {
  rusage u{};
  getrusage(who, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--rounds") == 0) rounds = std::atoi(argv[i + 1]);
  }
  smtp_test::temp_dir dir;
  const auto zone = dir.write("bench-zone.yml", zone_yaml());
  smtp_test::child_process dns(
      {"/usr/bin/python3", (smtp_test::source_dir() / "tests/peers/zone_dns.py").string(),
       "--zones", zone.string(), "--ports-file", (dir.path() / "ports").string()},
      dir.path() / "zone_dns.log");
  const auto port = dns.wait_ready(15s);
  if (port == 0) {
    std::fprintf(stderr, "zone_dns.py did not start:\n%s\n", dns.log().c_str());
    return 1;
  }
  asio::io_context io{1};
  std::string error;
  auto resolver = ex::make_sender_resolver(io.get_executor(),
                                           {"127.0.0.1:" + std::to_string(port)}, error);
  probes::resolver_dns_lookup network(*resolver);
  const auto psl = probes::public_suffix_list::load();
  const auto timeout = std::chrono::milliseconds(10000);

  // pyspf, the same 40 evaluations, through the same server; it times its evaluations itself.
  const std::string out_file = (dir.path() / "pyspf.out").string();
  const std::string timing_file = (dir.path() / "pyspf.timing").string();
  const std::string cmd = "/usr/bin/python3 " +
                          (smtp_test::source_dir() / "tests/peers/pyspf_check.py").string() +
                          " --timing --zones " + zone.string() + " --ports " +
                          std::to_string(port) + " > " + out_file + " 2> " + timing_file;
  const int status = std::system(cmd.c_str());
  double py_wall = 0, py_cpu = 0;
  {
    std::ifstream timing(timing_file);
    for (std::string word; timing >> word;) {
      if (word == "TIMING") timing >> py_wall >> py_cpu;
    }
  }
  std::ifstream in(out_file);
  int lines = 0, pass = 0;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    pass += line.ends_with(" pass");
  }
  // Ours: the 40 SPF evaluations, --rounds times, each with a fresh shared cache (a round's).
  int ours_pass = 0;
  const double c0 = cpu_seconds(RUSAGE_SELF);
  const auto w0 = clock_type::now();
  for (int r = 0; r < rounds; ++r) {
    probes::cached_dns_lookup cache(network);
    for (const auto& d : domains()) {
      for (const char* ip : ips) {
        auto e = ex::run_to_completion(io, ex::evaluate_spf(cache, d, ip, "bench.example", timeout));
        ours_pass += e.result == "pass";
      }
    }
  }
  const double our_wall = std::chrono::duration<double>(clock_type::now() - w0).count() / rounds;
  const double our_cpu = (cpu_seconds(RUSAGE_SELF) - c0) / rounds;
  std::printf("40 SPF evaluations (4 egress IPs x 10 domains, provider include chains), side by "
              "side through the same server\n");
  std::printf("  pyspf (python3-spf, exit %d): %d of %d pass; wall %.1f ms, CPU %.1f ms "
              "(evaluations alone)\n",
              WEXITSTATUS(status), pass, lines, py_wall * 1000, py_cpu * 1000);
  std::printf("  smtp_exporter: %d of %d pass; wall %.1f ms, CPU %.2f ms (mean of %d runs, each "
              "with a fresh cache)\n",
              ours_pass / rounds, 40, our_wall * 1000, our_cpu * 1000, rounds);
  std::printf("  ratio pyspf / smtp_exporter: wall %.1fx, CPU %.1fx\n", py_wall / our_wall,
              py_cpu / our_cpu);
  return 0;
}
