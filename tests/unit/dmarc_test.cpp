// DMARC (probes/dns/dmarc.hpp) and the Public Suffix List (probes/dns/public_suffix.hpp):
// parse_dmarc on both sides of each rule, the organizational domain from Debian's list, and
// policy discovery over scripted answers.
#include "probes/dns/dmarc.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include <boost/asio/io_context.hpp>

#include "tests/support/run_task.hpp"
#include "tests/support/scripted_dns_lookup.hpp"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using smtp_test::scripted_dns_lookup;
using st = dns_answer::status;
using status = dmarc_outcome::status;

std::string error_of(const std::string& txt) {
  std::string error;
  return parse_dmarc(txt, &error) ? "<parsed>" : error;
}

TEST(parse_dmarc, records) {
  auto r = parse_dmarc("v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:d@example.com");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy, "reject");
  EXPECT_EQ(r->subdomain_policy, "quarantine");
  EXPECT_EQ(r->pct, 50);
  EXPECT_TRUE(r->rua);
  r = parse_dmarc(" v = DMARC1 ;p=None;  ;fo=1;unknown=tag;");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->policy, "none");
  EXPECT_EQ(r->subdomain_policy, "");
  EXPECT_EQ(r->pct, 100);
  EXPECT_FALSE(r->rua);
  EXPECT_TRUE(parse_dmarc("v=DMARC1;\tp=quarantine;\tadkim=s;\taspf=r;\tpct=0"));
  EXPECT_TRUE(parse_dmarc("v=DMARC1; p=none; pct=100"));
}

TEST(parse_dmarc, malformed_with_the_reason) {
  EXPECT_EQ(error_of("v=DMARC1"), "no p= tag");
  EXPECT_EQ(error_of("v=DMARC1; rua=mailto:d@example.com"), "no p= tag");
  EXPECT_EQ(error_of("v=DMARC1; p=block"), "p=\"block\" is not none, quarantine or reject");
  EXPECT_EQ(error_of("v=DMARC1; p="), "p=\"\" is not none, quarantine or reject");
  EXPECT_EQ(error_of("v=DMARC1; p=none; sp=all"), "sp=\"all\" is not none, quarantine or reject");
  EXPECT_EQ(error_of("v=DMARC1; p=none; pct=101"), "pct=\"101\" is not 0 to 100");
  EXPECT_EQ(error_of("v=DMARC1; p=none; pct=5x"), "pct=\"5x\" is not 0 to 100");
  EXPECT_EQ(error_of("v=DMARC1; p=none; pct=-1"), "pct=\"-1\" is not 0 to 100");
  EXPECT_EQ(error_of("v=DMARC1; p=none; adkim=x"), "adkim=\"x\" is not r or s");
  EXPECT_EQ(error_of("v=DMARC1; p=none; p=reject"), "tag p= appears twice");
  EXPECT_EQ(error_of("v=DMARC1; p none"), "tag \"p none\" has no '='");
  EXPECT_EQ(error_of("v=DMARC2; p=none"), "does not start with v=DMARC1");
}

TEST(parse_dmarc, what_counts_as_a_dmarc_record) {
  EXPECT_TRUE(is_dmarc_record("v=DMARC1; p=none"));
  EXPECT_TRUE(is_dmarc_record("v=DMARC1"));
  EXPECT_TRUE(is_dmarc_record("V = DMARC1;p=none"));
  EXPECT_FALSE(is_dmarc_record("v=dmarc1; p=none"));  // the version is case-sensitive (6.4)
  EXPECT_FALSE(is_dmarc_record("p=none; v=DMARC1"));
  EXPECT_FALSE(is_dmarc_record("v=DMARC10; p=none"));
  EXPECT_FALSE(is_dmarc_record("v=spf1 -all"));
  EXPECT_FALSE(is_dmarc_record(""));
}

TEST(public_suffix_list, organizational_domains_from_debians_list) {
  const auto psl = public_suffix_list::load();
  EXPECT_EQ(psl->organizational_domain("mail.example.com"), "example.com");
  EXPECT_EQ(psl->organizational_domain("example.com"), "example.com");
  EXPECT_EQ(psl->organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(psl->organizational_domain("Mail.Example.CO.UK."), "example.co.uk");
  EXPECT_EQ(psl->organizational_domain("news.bbc.co.uk"), "bbc.co.uk");
  EXPECT_EQ(psl->organizational_domain("x.y.city.kawasaki.jp"), "city.kawasaki.jp");  // "!" rule
  EXPECT_EQ(psl->organizational_domain("co.uk"), "co.uk");  // a public suffix: no parent
  EXPECT_EQ(psl->organizational_domain(""), "");
}

TEST(public_suffix_list, a_missing_file_names_its_path) {
  try {
    public_suffix_list::load("/nonexistent/public_suffix_list.dat");
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/public_suffix_list.dat"), std::string::npos);
  }
}

class dmarc : public ::testing::Test {
 protected:
  dmarc_outcome check(const std::string& domain) {
    return smtp_test::run(io_, check_dmarc(dns_, *psl_, domain, 2s));
  }
  asio::io_context io_;
  scripted_dns_lookup dns_;
  std::shared_ptr<const public_suffix_list> psl_ = public_suffix_list::load();
};

TEST_F(dmarc, at_the_domain) {
  dns_.txt("_dmarc.example.com", {"unrelated", "v=DMARC1; p=quarantine; rua=mailto:r@example.com"});
  const auto r = check("Example.com");
  EXPECT_EQ(r.outcome, status::present);
  EXPECT_EQ(r.found_at, "_dmarc.example.com");
  EXPECT_FALSE(r.from_organizational_domain);
  EXPECT_EQ(r.policy(), "quarantine");
  EXPECT_TRUE(r.record.rua);
  EXPECT_EQ(r.queries, 1);
}

TEST_F(dmarc, at_the_organizational_domain_only) {
  dns_.txt("_dmarc.example.co.uk", {"v=DMARC1; p=reject; sp=none"});
  auto r = check("mail.example.co.uk");
  EXPECT_EQ(r.outcome, status::present);
  EXPECT_EQ(r.found_at, "_dmarc.example.co.uk");
  EXPECT_TRUE(r.from_organizational_domain);
  EXPECT_EQ(r.policy(), "none");  // sp applies to the subdomain
  EXPECT_EQ(r.queries, 2);
  dns_.txt("_dmarc.example.net", {"v=DMARC1; p=reject"});
  r = check("bulk.example.net");
  EXPECT_EQ(r.policy(), "reject");  // no sp: p applies
  // A record at the domain wins; its sp is not the domain's policy.
  dns_.txt("_dmarc.bulk.example.net", {"v=DMARC1; p=none; sp=reject"});
  r = check("bulk.example.net");
  EXPECT_EQ(r.found_at, "_dmarc.bulk.example.net");
  EXPECT_EQ(r.policy(), "none");
}

TEST_F(dmarc, absent_malformed_multiple) {
  auto r = check("mail.example.org");
  EXPECT_EQ(r.outcome, status::absent);
  EXPECT_EQ(r.policy(), "");
  EXPECT_EQ(r.detail, "no DMARC record at _dmarc.mail.example.org or _dmarc.example.org");
  dns_.txt("_dmarc.example.org", {"v=spf1 -all"});  // not DMARC: ignored
  EXPECT_EQ(check("example.org").outcome, status::absent);
  EXPECT_EQ(check("example.org").queries, 1);
  dns_.txt("_dmarc.example.org", {"v=DMARC1; p=maybe"});
  r = check("example.org");
  EXPECT_EQ(r.outcome, status::malformed);
  EXPECT_EQ(r.error, "p=\"maybe\" is not none, quarantine or reject");
  EXPECT_EQ(r.policy(), "");
  dns_.txt("_dmarc.example.org", {"v=DMARC1; p=none", "v=DMARC1; p=reject"});
  r = check("example.org");
  EXPECT_EQ(r.outcome, status::multiple);
  EXPECT_EQ(r.found_at, "_dmarc.example.org");
}

TEST_F(dmarc, dns_errors_are_errors_never_absent) {
  dns_.fail("_dmarc.example.com", st::timeout);
  auto r = check("example.com");
  EXPECT_EQ(r.outcome, status::error);
  EXPECT_EQ(r.error, "timeout");
  // The fallback's error is an error too.
  dns_.fail("_dmarc.example.net", st::servfail);
  r = check("mail.example.net");
  EXPECT_EQ(r.outcome, status::error);
  EXPECT_EQ(r.error, "servfail");
  r = check(std::string(250, 'a') + ".com");
  EXPECT_EQ(r.outcome, status::error);
  EXPECT_EQ(r.error, "invalid_domain");
}

TEST_F(dmarc, status_names) {
  const std::vector<std::string_view> names{"present", "absent", "malformed", "multiple", "error"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(dmarc_status_name(static_cast<status>(i)), names[i]);
  }
}

}  // namespace
}  // namespace smtp_exporter::probes
