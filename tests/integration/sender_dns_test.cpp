// Reverse DNS and DMARC through the exporter's own resolver against a scripted DNS server on
// loopback (tests/peers/zone_dns.py, tests/integration/sender_dns_zones.yml), and the answer
// cache's effect on a fleet of 4 egress IPs x 10 sender domains.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <iostream>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "probes/dns/dmarc.hpp"
#include "probes/dns/dns_lookup.hpp"
#include "probes/dns/reverse_dns.hpp"
#include "probes/dns/spf.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/run_task.hpp"

namespace smtp_test {
namespace {

namespace asio = boost::asio;
namespace probes = smtp_exporter::probes;
using probes::reverse_dns_result;
using status = probes::dmarc_outcome::status;

class sender_dns : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = start_zone_dns(dir_, {source_dir() / "tests/integration/sender_dns_zones.yml"},
                             ports_);
    ASSERT_TRUE(server_) << "zone_dns.py did not start";
    ASSERT_EQ(ports_.size(), 2u);
  }
  // A resolver as the exporter configures one for DNSBL: SERVFAIL and REFUSED are answers.
  std::unique_ptr<probes::dns_resolver> resolver(std::size_t document) {
    probes::dns_resolver_options options;
    options.servers = {"127.0.0.1:" + std::to_string(ports_.at(document))};
    options.attempt_timeout = std::chrono::milliseconds(200);
    options.tries = 1;
    options.final_error_answers = true;
    return std::make_unique<probes::dns_resolver>(io_.get_executor(), options);
  }
  probes::reverse_dns_outcome fcrdns(const char* ip) {
    auto r = resolver(0);
    probes::resolver_dns_lookup lookup(*r);
    return run(io_, probes::check_reverse_dns(lookup, asio::ip::make_address(ip),
                                              std::chrono::seconds(2)));
  }
  probes::dmarc_outcome dmarc(const char* domain) {
    auto r = resolver(0);
    probes::resolver_dns_lookup lookup(*r);
    return run(io_, probes::check_dmarc(lookup, *psl_, domain, std::chrono::seconds(2)));
  }

  temp_dir dir_;
  std::vector<std::uint16_t> ports_;
  std::unique_ptr<child_process> server_;
  asio::io_context io_;
  std::shared_ptr<const probes::public_suffix_list> psl_ = probes::public_suffix_list::load();
};

TEST_F(sender_dns, forward_confirmed_reverse_dns) {
  auto r = fcrdns("203.0.113.10");
  EXPECT_EQ(r.result, reverse_dns_result::match) << r.detail;
  EXPECT_EQ(r.name, "mail.sender.example");
  r = fcrdns("203.0.113.11");
  EXPECT_EQ(r.result, reverse_dns_result::mismatch) << r.detail;
  EXPECT_EQ(r.name, "mail.sender.example");
  r = fcrdns("203.0.113.12");
  EXPECT_EQ(r.result, reverse_dns_result::no_ptr) << r.detail;
  r = fcrdns("203.0.113.13");
  EXPECT_EQ(r.result, reverse_dns_result::generic) << r.detail;
  EXPECT_EQ(r.name, "203-0-113-13.dsl.isp.example");
  r = fcrdns("203.0.113.15");  // the PTR name's A record behind a CNAME
  EXPECT_EQ(r.result, reverse_dns_result::match) << r.detail;
  EXPECT_EQ(r.name, "alias.sender.example");
  r = fcrdns("2001:db8::25");
  EXPECT_EQ(r.result, reverse_dns_result::match) << r.detail;
  EXPECT_EQ(r.name, "mail6.sender.example");
}

TEST_F(sender_dns, reverse_dns_errors_are_never_verdicts) {
  const auto start = std::chrono::steady_clock::now();
  auto r = fcrdns("203.0.113.14");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(r.result, reverse_dns_result::error) << r.detail;
  EXPECT_EQ(r.error, "timeout");
  r = fcrdns("203.0.113.16");
  EXPECT_EQ(r.result, reverse_dns_result::error) << r.detail;
  EXPECT_EQ(r.error, "servfail");
}

TEST_F(sender_dns, dmarc_discovery) {
  auto r = dmarc("sender.example");
  EXPECT_EQ(r.outcome, status::present) << r.detail;
  EXPECT_EQ(r.policy(), "reject");
  EXPECT_TRUE(r.record.rua);
  EXPECT_EQ(r.found_at, "_dmarc.sender.example");
  r = dmarc("mail.orgonly.co.uk");
  EXPECT_EQ(r.outcome, status::present) << r.detail;
  EXPECT_TRUE(r.from_organizational_domain);
  EXPECT_EQ(r.found_at, "_dmarc.orgonly.co.uk");
  EXPECT_EQ(r.policy(), "none");
  r = dmarc("malformed.example");
  EXPECT_EQ(r.outcome, status::malformed) << r.detail;
  EXPECT_EQ(r.error, "p=\"block\" is not none, quarantine or reject");
  r = dmarc("two.example");
  EXPECT_EQ(r.outcome, status::multiple) << r.detail;
  r = dmarc("absent.example");
  EXPECT_EQ(r.outcome, status::absent) << r.detail;
  r = dmarc("delegated.example");  // a CNAME to the provider's record
  EXPECT_EQ(r.outcome, status::present) << r.detail;
  EXPECT_EQ(r.policy(), "none");
  r = dmarc("slow.example");
  EXPECT_EQ(r.outcome, status::error) << r.detail;
  EXPECT_EQ(r.error, "timeout");
}

// Counts what reaches the resolver.
class counting_lookup final : public probes::dns_lookup {
 public:
  explicit counting_lookup(probes::dns_lookup& inner) : inner_(inner) {}
  asio::awaitable<probes::dns_answer> query(std::string name, probes::dns_record_type type,
                                            std::chrono::steady_clock::time_point deadline) override {
    ++queries;
    co_return co_await inner_.query(std::move(name), type, deadline);
  }
  int queries = 0;

 private:
  probes::dns_lookup& inner_;
};

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct fleet_round {
  int queries_sent = 0;
  int queries_asked = 0;  // by the evaluations (cache hits included)
  double cpu = 0;
  std::map<std::string, int> results;
};

// 4 egress IPs x 10 sender domains, all evaluations at once (as a runner would start them).
fleet_round run_fleet(asio::io_context& io, probes::dns_lookup& lookup, counting_lookup& counter) {
  const std::vector<std::string> ips{"192.0.2.10", "192.0.2.11", "192.0.2.12", "192.0.2.13"};
  fleet_round round;
  const int before = counter.queries;
  const double cpu_before = cpu_seconds();
  for (const auto& ip : ips) {
    for (int d = 0; d < 10; ++d) {
      const std::string domain = "d" + std::to_string(d) + ".example";
      asio::co_spawn(io,
                     probes::check_spf(lookup, asio::ip::make_address(ip), domain,
                                       "bounce@" + domain, "mail.example.net",
                                       std::chrono::seconds(5)),
                     [&round](std::exception_ptr e, probes::spf_outcome o) {
                       if (e) return;
                       round.queries_asked += o.queries;
                       ++round.results[std::string(probes::spf_result_name(o.result))];
                     });
    }
  }
  io.restart();
  io.run();
  round.cpu = cpu_seconds() - cpu_before;
  round.queries_sent = counter.queries - before;
  return round;
}

std::string describe(const fleet_round& r) {
  std::ostringstream out;
  out << r.queries_sent << " queries sent (" << r.queries_asked << " asked), CPU "
      << r.cpu * 1000 << " ms; results";
  for (const auto& [result, n] : r.results) out << " " << result << "=" << n;
  return out.str();
}

TEST_F(sender_dns, a_shared_cache_asks_each_question_once) {
  auto r = resolver(1);
  probes::resolver_dns_lookup direct(*r);
  counting_lookup counter(direct);

  const fleet_round uncached = run_fleet(io_, counter, counter);
  probes::cached_dns_lookup cache(counter);
  const fleet_round first = run_fleet(io_, cache, counter);
  const fleet_round second = run_fleet(io_, cache, counter);  // within every TTL (300 s)
  const auto stats = cache.stats();
  std::cout << "fleet of 4 egress IPs x 10 sender domains (40 SPF evaluations):\n"
            << "  without a cache:         " << describe(uncached) << "\n"
            << "  shared cache, 1st round: " << describe(first) << " (" << stats.joined
            << " joined a query in flight)\n"
            << "  shared cache, 2nd round: " << describe(second) << "\n"
            << "  DNS queries per evaluation without a cache: " << uncached.queries_sent / 40.0
            << "\n";
  EXPECT_EQ(uncached.results, first.results);
  EXPECT_EQ(first.results, second.results);
  EXPECT_EQ(uncached.queries_sent, uncached.queries_asked);
  EXPECT_EQ(first.queries_asked, uncached.queries_asked);
  EXPECT_EQ(static_cast<std::uint64_t>(first.queries_sent), stats.queries_sent);
  EXPECT_LT(first.queries_sent * 3, uncached.queries_sent);
  EXPECT_EQ(second.queries_sent, 0);
  EXPECT_EQ(first.results.count("temperror"), 0u);
}

}  // namespace
}  // namespace smtp_test
