// Sender readiness ([sender], issue 22) through the binary: a scripted DNS server
// (tests/peers/zone_dns.py) holds PTR, A and TXT records; the exporter checks the forward-
// confirmed reverse DNS of its egress IPs (one from [sender], one [dnsbl] knows), SPF of each IP
// for each domain and each domain's DMARC, and publishes the verdicts on /metrics, the status
// page and diagnose. A timeout is never read as a verdict.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "tests/support/harness.hpp"
#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

using namespace std::chrono_literals;

// .10 has a PTR that points back (match); .20 (from [dnsbl]) a PTR whose name points elsewhere.
// good.test allows .10 only (-all): pass for .10, fail for .20; DMARC p=reject at the domain.
// sub.org.test has SPF through an include and DMARC only at its organisational domain org.test
// (the Public Suffix List: org.test's suffix is "test"). nodmarc.test has none. slow.test times
// out: temperror and an error class, never fail or absent.
const char* zone = R"(zonedata:
  10.2.0.192.in-addr.arpa:
    - PTR: mail.good.test
  mail.good.test:
    - A: 192.0.2.10
  20.2.0.192.in-addr.arpa:
    - PTR: host.elsewhere.test
  host.elsewhere.test:
    - A: 198.51.100.1
  good.test:
    - TXT: "v=spf1 ip4:192.0.2.10 -all"
  _dmarc.good.test:
    - TXT: "v=DMARC1; p=reject; rua=mailto:dmarc@good.test"
  sub.org.test:
    - TXT: "v=spf1 include:_spf.org.test -all"
  _spf.org.test:
    - TXT: "v=spf1 ip4:192.0.2.0/24 -all"
  _dmarc.org.test:
    - TXT: "v=DMARC1; p=quarantine; sp=none; pct=50"
  nodmarc.test:
    - TXT: "v=spf1 ?all"
  slow.test:
    - TIMEOUT
  _dmarc.slow.test:
    - TIMEOUT
)";

class sender : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto zones = dir_.write("zone.yml", zone);
    dns_ = std::make_unique<child_process>(
        std::vector<std::string>{"/usr/bin/python3",
                                 (source_dir() / "tests/peers/zone_dns.py").string(), "--zones",
                                 zones.string(), "--ports-file",
                                 (dir_.path() / "ports").string()},
        dir_.path() / "zone_dns.log");
    dns_port_ = dns_->wait_ready(15s);
    ASSERT_NE(dns_port_, 0) << dns_->log();
  }

  std::string config() const {
    const std::string server = "\"127.0.0.1:" + std::to_string(dns_port_) + "\"";
    return "[sender]\nenabled = true\ndomains = [\"good.test\", \"sub.org.test\", "
           "\"nodmarc.test\", \"slow.test\"]\negress_ips = [\"192.0.2.10\"]\nservers = [" +
           server + "]\ntimeout = \"2s\"\n"
           // [dnsbl] knows the other egress IP; its zone answers NXDOMAIN (not listed).
           "[dnsbl]\nenabled = true\negress_ips = [\"192.0.2.20\"]\nservers = [" + server +
           "]\ntimeout = \"1s\"\n[[dnsbl.zone]]\nname = \"bl.test\"\n";
  }

  temp_dir dir_;
  std::unique_ptr<child_process> dns_;
  std::uint16_t dns_port_ = 0;
};

double value(const std::string& text, const std::string& name,
             const std::map<std::string, std::string>& labels) {
  return metric_value(text, name, labels).value_or(-1);
}

TEST_F(sender, verdicts_on_metrics_and_the_status_page) {
  exporter_process exporter(dir_, config());
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("smtp_sender_check_last_run_timestamp_seconds{check=\"dmarc\"}") !=
               std::string::npos &&
           t.find("ip=\"192.0.2.20\",result=") != std::string::npos;
  }, 30s);

  // Reverse DNS: the [sender] IP and the one [dnsbl] knows.
  EXPECT_EQ(value(text, "smtp_egress_ip_reverse_dns_info",
                  {{"ip", "192.0.2.10"}, {"result", "match"}, {"name", "mail.good.test"}}), 1)
      << text;
  EXPECT_EQ(value(text, "smtp_egress_ip_reverse_dns_info",
                  {{"ip", "192.0.2.20"}, {"result", "mismatch"}, {"name", "host.elsewhere.test"}}),
            1)
      << text;
  // SPF.
  auto spf = [&](const std::string& domain, const std::string& ip) {
    for (const char* r : {"pass", "fail", "softfail", "neutral", "none", "permerror", "temperror"}) {
      if (value(text, "smtp_sender_domain_spf_result_info",
                {{"domain", domain}, {"ip", ip}, {"result", r}}) == 1)
        return std::string(r);
    }
    return std::string("missing");
  };
  EXPECT_EQ(spf("good.test", "192.0.2.10"), "pass") << text;
  EXPECT_EQ(spf("good.test", "192.0.2.20"), "fail");
  EXPECT_EQ(spf("sub.org.test", "192.0.2.20"), "pass");
  EXPECT_EQ(spf("nodmarc.test", "192.0.2.10"), "neutral");
  EXPECT_EQ(spf("slow.test", "192.0.2.10"), "temperror") << "a timeout is never fail";
  EXPECT_EQ(value(text, "smtp_sender_domain_spf_dns_lookups",
                  {{"domain", "sub.org.test"}, {"ip", "192.0.2.10"}}), 1);
  // DMARC.
  EXPECT_EQ(value(text, "smtp_sender_domain_dmarc_policy_info",
                  {{"domain", "good.test"}, {"policy", "reject"}}), 1) << text;
  EXPECT_EQ(value(text, "smtp_sender_domain_dmarc_rua", {{"domain", "good.test"}}), 1);
  EXPECT_EQ(value(text, "smtp_sender_domain_dmarc_policy_info",
                  {{"domain", "sub.org.test"}, {"policy", "none"}}), 1)
      << "a subdomain gets the organisational domain's sp=";
  EXPECT_EQ(value(text, "smtp_sender_domain_dmarc_pct", {{"domain", "sub.org.test"}}), 50);
  EXPECT_EQ(value(text, "smtp_sender_domain_dmarc_result_info",
                  {{"domain", "nodmarc.test"}, {"result", "absent"}}), 1);
  EXPECT_EQ(value(text, "smtp_sender_domain_dmarc_policy_info",
                  {{"domain", "nodmarc.test"}, {"policy", "absent"}}), 1);
  EXPECT_EQ(value(text, "smtp_sender_domain_dmarc_result_info",
                  {{"domain", "slow.test"}, {"result", "absent"}}), -1)
      << "a timeout is never absent";
  EXPECT_EQ(value(text, "smtp_sender_domain_dmarc_result_info",
                  {{"domain", "slow.test"}, {"result", "timeout"}}), 1) << text;
  EXPECT_EQ(text.find("smtp_sender_domain_dmarc_policy_info{domain=\"slow.test\""),
            std::string::npos);
  EXPECT_GE(value(text, "smtp_sender_check_errors_total", {{"check", "spf"}, {"error", "temperror"}}),
            1);
  // The cache: good.test's TXT is asked once for both IPs.
  EXPECT_GT(value(text, "smtp_sender_dns_queries_total", {{"answered_by", "cache"}}), 0);

  auto page = http_request(exporter.port(), "GET", "/");
  EXPECT_NE(page.body.find("<h2 id=\"sender\">Sender readiness</h2>"), std::string::npos);
  EXPECT_NE(page.body.find("does not resolve back to 192.0.2.20"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("may not send for it"), std::string::npos);
}

TEST_F(sender, diagnose_prints_sender_readiness) {
  auto cfg = config() + "[[target]]\nname = \"app\"\nhost = \"127.0.0.1\"\nport = " +
             std::to_string(unused_port()) + "\ntls = \"none\"\nprobes = [\"banner\"]\n";
  const auto file = dir_.write("diagnose.toml", cfg);
  auto r = run_command({exporter_binary().string(), "diagnose", "app", "--config.file",
                        file.string()},
                       dir_.path(), "diagnose", 60s);
  ASSERT_TRUE(r.status.has_value());
  EXPECT_EQ(r.status, 4) << "the port's failure decides the exit status\n" << r.out << r.err;
  EXPECT_NE(r.out.find("sender readiness ([sender] in the config: 2 egress IPs, 4 domains)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("192.0.2.20: mismatch (host.elsewhere.test)"), std::string::npos)
      << "the egress IP the DNSBL section checked\n" << r.out;
  EXPECT_NE(r.out.find("good.test from 192.0.2.20: fail"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nodmarc.test: absent"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("slow.test from 192.0.2.10: temperror"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("What the providers require:"), std::string::npos);
}

}  // namespace
}  // namespace smtp_test
