// SPF against the outside world's answers: the openspf RFC 7208 suite (tests/conformance/spf/)
// and a differential run against Debian's pyspf. Each scenario goes through the real c-ares
// resolver (probes::dns_resolver) to tests/peers/zone_dns.py on loopback, which serves each YAML
// document's zone data on a port of its own; one server process serves a whole file.
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <numeric>
#include <sstream>

#include <boost/asio/io_context.hpp>

#include "probes/dns/dns_lookup.hpp"
#include "probes/dns/spf.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/run_task.hpp"

namespace smtp_test {
namespace {

namespace asio = boost::asio;
namespace probes = smtp_exporter::probes;

struct scenario {
  std::size_t document = 0;
  std::string name;
  std::string helo, host, mailfrom;
  std::vector<std::string> expected;  // the result, or the accepted ones
};

std::vector<scenario> load_scenarios(const fs::path& file) {
  std::vector<scenario> out;
  const std::vector<YAML::Node> documents = YAML::LoadAllFromFile(file.string());
  for (std::size_t d = 0; d < documents.size(); ++d) {
    const YAML::Node tests = documents[d]["tests"];
    for (auto it = tests.begin(); it != tests.end(); ++it) {
      scenario s;
      s.document = d;
      s.name = it->first.as<std::string>();
      const YAML::Node t = it->second;
      s.helo = t["helo"].as<std::string>();
      s.host = t["host"].as<std::string>();
      s.mailfrom = t["mailfrom"].as<std::string>();
      if (t["result"].IsSequence()) {
        for (const auto& r : t["result"]) s.expected.push_back(r.as<std::string>());
      } else {
        s.expected.push_back(t["result"].as<std::string>());
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

// check_host(host, domain of mailfrom or helo, mailfrom) as a driver of the suite does it.
probes::spf_outcome evaluate(asio::io_context& io, std::uint16_t port, const scenario& s) {
  probes::dns_resolver_options options;
  options.servers = {"127.0.0.1:" + std::to_string(port)};
  options.attempt_timeout = std::chrono::milliseconds(250);  // a TIMEOUT zone costs this once
  options.tries = 1;
  probes::dns_resolver resolver(io.get_executor(), options);
  probes::resolver_dns_lookup lookup(resolver);
  const std::size_t at = s.mailfrom.rfind('@');
  const std::string domain = s.mailfrom.empty() ? s.helo : s.mailfrom.substr(at + 1);
  return run(io, probes::check_spf(lookup, asio::ip::make_address(s.host), domain, s.mailfrom,
                                   s.helo, std::chrono::seconds(5)));
}

bool accepted(const scenario& s, const probes::spf_outcome& o) {
  return std::find(s.expected.begin(), s.expected.end(), probes::spf_result_name(o.result)) !=
         s.expected.end();
}

std::string expected_text(const scenario& s) {
  std::string out;
  for (const auto& e : s.expected) out += (out.empty() ? "" : "|") + e;
  return out;
}

// A zone file's scenarios, its documents served by tests/peers/zone_dns.py.
struct served_scenarios {
  temp_dir dir;
  std::vector<std::uint16_t> ports;
  std::unique_ptr<child_process> server;
  std::vector<scenario> scenarios;
  explicit served_scenarios(const fs::path& file)
      : server(start_zone_dns(dir, {file}, ports)), scenarios(load_scenarios(file)) {}
};

struct query_stats {
  std::vector<int> counts;
  std::string summary() const {
    if (counts.empty()) return "no evaluations";
    std::vector<int> sorted = counts;
    std::sort(sorted.begin(), sorted.end());
    const double mean = std::accumulate(sorted.begin(), sorted.end(), 0.0) / sorted.size();
    std::ostringstream out;
    out.precision(2);
    out << std::fixed << "DNS queries per evaluation: mean " << mean << ", median "
        << sorted[sorted.size() / 2] << ", max " << sorted.back();
    return out.str();
  }
};

TEST(spf_conformance, the_openspf_rfc7208_suite) {
  served_scenarios served(source_dir() / "tests/conformance/spf/rfc7208-tests.yml");
  ASSERT_TRUE(served.server) << "zone_dns.py did not start";
  const auto& scenarios = served.scenarios;
  const auto& ports = served.ports;
  ASSERT_EQ(ports.size(), 16u);
  ASSERT_EQ(scenarios.size(), 203u);  // every scenario of release 2014.04 runs; none is skipped

  asio::io_context io;
  int passed = 0;
  query_stats stats;
  std::ostringstream failures;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& s : scenarios) {
    const probes::spf_outcome o = evaluate(io, ports.at(s.document), s);
    stats.counts.push_back(o.queries);
    if (accepted(s, o)) {
      ++passed;
    } else {
      failures << "  " << s.name << ": " << probes::spf_result_name(o.result) << " (" << o.detail
               << "), expected " << expected_text(s) << "\n";
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "SPF conformance: " << passed << " of " << scenarios.size() << " pass in "
            << seconds << " s; " << stats.summary() << "\n"
            << failures.str();
  EXPECT_EQ(passed, static_cast<int>(scenarios.size())) << failures.str();
}

// pyspf's verdict for every scenario of `file`, asked through the same server: scenario name ->
// result (tests/peers/pyspf_check.py).
std::map<std::string, std::string> pyspf_verdicts(const temp_dir& dir, const fs::path& file,
                                                  const std::vector<std::uint16_t>& ports) {
  std::vector<std::string> argv{"/usr/bin/python3",
                                (source_dir() / "tests/peers/pyspf_check.py").string(),
                                "--zones", file.string(), "--ports"};
  for (const auto port : ports) argv.push_back(std::to_string(port));
  const command_result r = run_command(argv, dir.path(), "pyspf", std::chrono::seconds(120));
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::string> out;
  std::istringstream lines(r.out);
  for (std::string key, result; lines >> key >> result;) out[key] = result;
  return out;
}

TEST(spf_differential, the_same_verdicts_as_pyspf) {
  const fs::path file = source_dir() / "tests/integration/spf_differential.yml";
  served_scenarios served(file);
  ASSERT_TRUE(served.server) << "zone_dns.py did not start";
  const auto& scenarios = served.scenarios;
  const auto& ports = served.ports;
  const auto reference = pyspf_verdicts(served.dir, file, ports);
  ASSERT_EQ(reference.size(), scenarios.size());

  asio::io_context io;
  int same = 0;
  query_stats stats;
  std::ostringstream report;
  for (const auto& s : scenarios) {
    const probes::spf_outcome o = evaluate(io, ports.at(s.document), s);
    stats.counts.push_back(o.queries);
    const std::string ours(probes::spf_result_name(o.result));
    const std::string theirs = reference.count(s.name) ? reference.at(s.name) : "<missing>";
    report << "  " << s.name << ": ours " << ours << " (" << o.queries << " queries, "
           << o.dns_lookups << " lookups, " << o.void_lookups << " void; " << o.detail
           << "), pyspf " << theirs << ", expected " << expected_text(s) << "\n";
    EXPECT_EQ(ours, theirs) << s.name;
    EXPECT_TRUE(accepted(s, o)) << s.name << ": " << ours;
    if (ours == theirs) ++same;
  }
  std::cout << "SPF differential: " << same << " of " << scenarios.size()
            << " scenarios give pyspf's verdict; " << stats.summary() << "\n"
            << report.str();
}

}  // namespace
}  // namespace smtp_test
