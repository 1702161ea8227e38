// Reverse DNS and DMARC through the exporter's own resolver against a scripted DNS server on
// loopback (tests/peers/zone_dns.py, tests/integration/sender_dns_zones.yml), and the answer
// cache's effect on a fleet of 4 egress IPs x 10 sender domains.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include <boost/asio/io_context.hpp>

#include "probes/dns/dmarc.hpp"
#include "probes/dns/dns_lookup.hpp"
#include "probes/dns/reverse_dns.hpp"
#include "probes/dns/spf.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/run_task.hpp"
#include "tests/support/spf_fleet.hpp"

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

TEST_F(sender_dns, a_shared_cache_asks_each_question_once) {
  auto r = resolver(1);
  probes::resolver_dns_lookup direct(*r);
  counting_dns_lookup counter(direct);

  const fleet_round uncached = run_spf_fleet(io_, counter, counter);
  probes::cached_dns_lookup cache(counter);
  const fleet_round first = run_spf_fleet(io_, cache, counter);
  const fleet_round second = run_spf_fleet(io_, cache, counter);  // within every TTL (300 s)
  const auto stats = cache.stats();
  std::cout << "fleet of 4 egress IPs x 10 sender domains (40 SPF evaluations):\n"
            << "  without a cache:         " << uncached.describe() << "\n"
            << "  shared cache, 1st round: " << first.describe() << " (" << stats.joined
            << " joined a query in flight)\n"
            << "  shared cache, 2nd round: " << second.describe() << "\n"
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
