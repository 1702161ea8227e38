// check_spf (probes/dns/spf.hpp) over scripted answers in memory: each result, the limits of
// RFC 7208 4.6.4, and the rule that a DNS error is temperror, never fail. The same evaluation
// runs through the real resolver against the openspf suite in
// tests/integration/spf_conformance_test.cpp.
#include "probes/dns/spf.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "tests/support/run_task.hpp"
#include "tests/support/scripted_dns_lookup.hpp"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using smtp_test::scripted_dns_lookup;
using st = dns_answer::status;

class spf_check : public ::testing::Test {
 protected:
  spf_outcome check(const std::string& ip, const std::string& domain,
                    std::string sender = "", std::chrono::milliseconds timeout = 2s) {
    return smtp_test::run(io_, check_spf(dns_, asio::ip::make_address(ip), domain,
                                         std::move(sender), "mail.example.net", timeout));
  }
  asio::io_context io_;
  scripted_dns_lookup dns_;
};

TEST_F(spf_check, result_names) {
  const std::vector<std::string_view> names{"none", "neutral", "pass", "fail", "softfail", "temperror",
                                            "permerror"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(spf_result_name(static_cast<spf_result>(i)), names[i]);
  }
}

TEST_F(spf_check, ip4_pass_and_the_fail_of_all) {
  dns_.txt("example.com", {"some verification text", "v=spf1 ip4:192.0.2.0/24 -all"});
  auto r = check("192.0.2.7", "example.com");
  EXPECT_EQ(r.result, spf_result::pass);
  EXPECT_EQ(r.mechanism, "ip4:192.0.2.0/24");
  EXPECT_EQ(r.detail, "ip4:192.0.2.0/24 matched");
  EXPECT_EQ(r.dns_lookups, 0);
  EXPECT_EQ(r.queries, 1);
  r = check("198.51.100.1", "example.com");
  EXPECT_EQ(r.result, spf_result::fail);
  EXPECT_EQ(r.mechanism, "-all");
}

TEST_F(spf_check, include_chain_that_passes) {
  dns_.txt("example.com", {"v=spf1 include:_spf.example.com ~all"});
  dns_.txt("_spf.example.com", {"v=spf1 include:_netblocks.example.net -all"});
  dns_.txt("_netblocks.example.net", {"v=spf1 a:out.example.net ?all"});
  dns_.address("out.example.net", {"192.0.2.1", "203.0.113.9"});
  auto r = check("203.0.113.9", "example.com", "bounce@example.com");
  EXPECT_EQ(r.result, spf_result::pass);
  EXPECT_EQ(r.mechanism, "include:_spf.example.com");
  EXPECT_EQ(r.dns_lookups, 3);
  EXPECT_EQ(r.queries, 4);
  // An included fail is no match: the including record goes on to ~all.
  r = check("198.51.100.1", "example.com");
  EXPECT_EQ(r.result, spf_result::softfail);
}

TEST_F(spf_check, no_record_is_none_and_two_records_permerror) {
  EXPECT_EQ(check("192.0.2.1", "nothing.example").result, spf_result::none);
  dns_.txt("text.example", {"google-site-verification=abc"});
  EXPECT_EQ(check("192.0.2.1", "text.example").result, spf_result::none);
  dns_.txt("two.example", {"v=spf1 -all", "V=SPF1 +all"});
  const auto r = check("192.0.2.1", "two.example");
  EXPECT_EQ(r.result, spf_result::permerror);
  EXPECT_EQ(r.detail, "2 SPF records at two.example");
  // A domain no query can be made for: none, without asking.
  dns_.clear_log();
  EXPECT_EQ(check("192.0.2.1", "single-label").result, spf_result::none);
  EXPECT_EQ(check("192.0.2.1", "a..example.com").result, spf_result::none);
  EXPECT_EQ(check("192.0.2.1", "[192.0.2.1]").result, spf_result::none);
  EXPECT_EQ(check("192.0.2.1", std::string(64, 'a') + ".example.com").result, spf_result::none);
  EXPECT_TRUE(dns_.log().empty());
}

TEST_F(spf_check, more_than_ten_lookups_is_permerror) {
  dns_.txt("example.com", {"v=spf1 a:a1.example.com include:inc.example.com ip4:192.0.2.1 -all"});
  dns_.txt("inc.example.com",
           {"v=spf1 a:a2.example.com a:a3.example.com a:a4.example.com a:a5.example.com "
            "a:a6.example.com a:a7.example.com a:a8.example.com a:a9.example.com"});
  for (int i = 1; i <= 10; ++i) dns_.address("a" + std::to_string(i) + ".example.com", {"198.51.100.1"});
  auto r = check("192.0.2.1", "example.com");  // 1 + 1 + 8 = 10: at the limit
  EXPECT_EQ(r.result, spf_result::pass);
  EXPECT_EQ(r.dns_lookups, 10);
  dns_.txt("inc.example.com",
           {"v=spf1 a:a2.example.com a:a3.example.com a:a4.example.com a:a5.example.com "
            "a:a6.example.com a:a7.example.com a:a8.example.com a:a9.example.com a:a10.example.com"});
  r = check("192.0.2.1", "example.com");
  EXPECT_EQ(r.result, spf_result::permerror);
  EXPECT_EQ(r.detail, "more than 10 DNS lookups");
  EXPECT_EQ(r.dns_lookups, 11);
  // A redirect loop ends at the limit too.
  dns_.txt("loop.example.com", {"v=spf1 ip4:198.51.100.9 redirect=loop.example.com"});
  EXPECT_EQ(check("192.0.2.1", "loop.example.com").result, spf_result::permerror);
}

TEST_F(spf_check, more_than_two_void_lookups_is_permerror) {
  dns_.txt("example.com", {"v=spf1 a:gone1.example.com mx:gone2.example.com ip4:192.0.2.1 -all"});
  dns_.fail("gone2.example.com", st::nodata);
  auto r = check("192.0.2.1", "example.com");
  EXPECT_EQ(r.result, spf_result::pass);
  EXPECT_EQ(r.void_lookups, 2);
  dns_.txt("example.com",
           {"v=spf1 a:gone1.example.com mx:gone2.example.com exists:gone3.example.com "
            "ip4:192.0.2.1 -all"});
  r = check("192.0.2.1", "example.com");
  EXPECT_EQ(r.result, spf_result::permerror);
  EXPECT_EQ(r.detail, "more than 2 void lookups");
}

TEST_F(spf_check, a_dns_error_is_temperror_never_fail) {
  dns_.fail("timeout.example", st::timeout);
  auto r = check("192.0.2.1", "timeout.example");
  EXPECT_EQ(r.result, spf_result::temperror);
  EXPECT_EQ(r.detail, "timeout asking TXT timeout.example");
  dns_.txt("example.com", {"v=spf1 include:servfail.example.net -all"});
  dns_.fail("servfail.example.net", st::servfail);
  r = check("192.0.2.1", "example.com");
  EXPECT_EQ(r.result, spf_result::temperror);
  EXPECT_EQ(r.detail, "servfail asking TXT servfail.example.net");
  dns_.txt("example.org", {"v=spf1 a:broken.example.org -all"});
  dns_.fail("broken.example.org", st::refused);
  EXPECT_EQ(check("192.0.2.1", "example.org").result, spf_result::temperror);
}

TEST_F(spf_check, the_whole_evaluation_is_bounded_in_time) {
  dns_.txt("example.com", {"v=spf1 a:a.example.com a:b.example.com a:c.example.com -all"});
  dns_.delay(40ms);
  const auto start = std::chrono::steady_clock::now();
  const auto r = check("192.0.2.1", "example.com", "", 100ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(r.result, spf_result::temperror);
}

TEST_F(spf_check, include_and_redirect_of_a_domain_without_spf_are_permerror) {
  dns_.txt("example.com", {"v=spf1 include:nospf.example.com -all"});
  auto r = check("192.0.2.1", "example.com");
  EXPECT_EQ(r.result, spf_result::permerror);
  EXPECT_EQ(r.detail, "include:nospf.example.com: no SPF record at nospf.example.com");
  dns_.txt("example.net", {"v=spf1 redirect=nospf.example.net"});
  EXPECT_EQ(check("192.0.2.1", "example.net").result, spf_result::permerror);
}

TEST_F(spf_check, redirect_evaluates_the_target_with_its_domain) {
  dns_.txt("example.com", {"v=spf1 redirect=_spf.example.net"});
  dns_.txt("_spf.example.net", {"v=spf1 a -all"});
  dns_.address("_spf.example.net", {"192.0.2.5"});
  auto r = check("192.0.2.5", "example.com");
  EXPECT_EQ(r.result, spf_result::pass);
  EXPECT_EQ(r.mechanism, "a");
  EXPECT_EQ(r.detail, "redirect=_spf.example.net: a matched (_spf.example.net)");
  // "all" wins over redirect, wherever it stands.
  dns_.txt("example.org", {"v=spf1 redirect=_spf.example.net ?all"});
  EXPECT_EQ(check("192.0.2.5", "example.org").result, spf_result::neutral);
}

TEST_F(spf_check, mx_names_and_their_limit) {
  dns_.txt("example.com", {"v=spf1 mx/24 -all"});
  dns_.names("example.com", dns_record_type::mx, {"mx1.example.com", "", "mx2.example.com"});
  dns_.address("mx2.example.com", {"192.0.2.200", "2001:db8::25"});
  EXPECT_EQ(check("192.0.2.7", "example.com").result, spf_result::pass);
  EXPECT_EQ(check("198.51.100.7", "example.com").result, spf_result::fail);
  EXPECT_EQ(check("2001:db8::25", "example.com").result, spf_result::pass);
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back("mx" + std::to_string(i) + ".example.com");
  dns_.names("example.com", dns_record_type::mx, eleven);
  EXPECT_EQ(check("192.0.2.7", "example.com").result, spf_result::permerror);
}

TEST_F(spf_check, ptr_and_the_p_macro_use_validated_names) {
  dns_.names("7.2.0.192.in-addr.arpa", dns_record_type::ptr,
             {"unvalidated.example.com", "out.example.com"});
  dns_.address("out.example.com", {"192.0.2.7"});
  dns_.address("unvalidated.example.com", {"198.51.100.1"});
  dns_.txt("example.com", {"v=spf1 ptr -all"});
  EXPECT_EQ(check("192.0.2.7", "example.com").result, spf_result::pass);
  dns_.txt("example.net", {"v=spf1 ptr -all"});
  EXPECT_EQ(check("192.0.2.7", "example.net").result, spf_result::fail);
  // %{p}: a validated name, "unknown" without one.
  dns_.txt("example.org", {"v=spf1 exists:%{p}.allowed.example.org -all"});
  dns_.address("out.example.com.allowed.example.org", {"127.0.0.2"});
  EXPECT_EQ(check("192.0.2.7", "example.org").result, spf_result::pass);
  dns_.address("unknown.allowed.example.org", {"127.0.0.2"});
  EXPECT_EQ(check("192.0.2.8", "example.org").result, spf_result::pass);
  // A PTR lookup error is no match for "ptr" (RFC 7208 5.5), not temperror.
  dns_.fail("9.2.0.192.in-addr.arpa", st::servfail);
  EXPECT_EQ(check("192.0.2.9", "example.com").result, spf_result::fail);
}

TEST_F(spf_check, macros_reach_the_queries) {
  dns_.txt("example.com", {"v=spf1 exists:%{ir}.%{l1r-}.%{v}._spf.%{d} -all"});
  dns_.address("7.2.0.192.philip.in-addr._spf.example.com", {"127.0.0.2"});
  EXPECT_EQ(check("192.0.2.7", "example.com", "philip-gladstone@example.com").result,
            spf_result::pass);
  EXPECT_EQ(check("192.0.2.7", "example.com", "other@example.com").result, spf_result::fail);
  // An empty sender is postmaster@<domain>.
  dns_.txt("example.net", {"v=spf1 exists:%{l}.%{o}.x.example.net -all"});
  dns_.address("postmaster.example.net.x.example.net", {"127.0.0.2"});
  EXPECT_EQ(check("192.0.2.7", "example.net").result, spf_result::pass);
}

TEST_F(spf_check, exp_is_never_fetched) {
  dns_.txt("example.com", {"v=spf1 -all exp=explain.example.com"});
  dns_.clear_log();
  EXPECT_EQ(check("192.0.2.7", "example.com").result, spf_result::fail);
  EXPECT_EQ(dns_.count("explain.example.com TXT"), 0);
}

TEST_F(spf_check, ipv4_mapped_addresses_are_ipv4) {
  dns_.txt("example.com", {"v=spf1 ip6:::ffff:192.0.2.0/120 ip4:192.0.2.7 -all"});
  const auto r = check("::ffff:192.0.2.7", "example.com");
  EXPECT_EQ(r.result, spf_result::pass);
  EXPECT_EQ(r.mechanism, "ip4:192.0.2.7");
}

}  // namespace
}  // namespace smtp_exporter::probes
