// Forward-confirmed reverse DNS (probes/dns/reverse_dns.hpp): the generic-name heuristic on both
// sides of each rule, and check_reverse_dns over scripted answers (match, generic, mismatch,
// no_ptr, and errors that are never read as verdicts).
#include "probes/dns/reverse_dns.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "probes/dns/address_names.hpp"
#include "probes/dns/dnsbl.hpp"
#include "tests/support/run_task.hpp"
#include "tests/support/scripted_dns_lookup.hpp"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using smtp_test::scripted_dns_lookup;
using st = dns_answer::status;

asio::ip::address ip(const char* text) { return asio::ip::make_address(text); }

TEST(looks_generic, the_address_in_the_name) {
  const auto v4 = ip("203.0.113.7");
  for (const char* name :
       {"203-0-113-7.dsl.example.net", "7.113.0.203.static.example.net",
        "host203-0-113-7.example.net", "c-203-0-113-7.hsd1.example.net",
        "ip-203-000-113-007.example.net", "7-113-0-203.example.net", "203.0.113.7.example.net",
        "s203_0_113_7.example.net", "203000113007.example.net", "cb007107.example.net",
        "cust-CB007107.example.net", "203-0.113-7.example.net"}) {
    EXPECT_TRUE(looks_generic(name, v4)) << name;
  }
  for (const char* name :
       {"mail.example.com", "mx1.example.com", "smtp-out-7.example.com",
        "203-0-113-8.example.net",          // another address's octets
        "113-0-203-7.example.net",          // neither order
        "203-0-113.example.net",            // three octets only
        "2030-113-7.example.net", "203--0-113-7.example.net",
        "1203-0-113-7.example.net",         // a longer run is another number
        "mail.cb007107.example.net",        // hex outside the first label
        "203000113008.example.net"}) {
    EXPECT_FALSE(looks_generic(name, v4)) << name;
  }
  // IPv4-mapped addresses are IPv4.
  EXPECT_TRUE(looks_generic("203-0-113-7.example.net", ip("::ffff:203.0.113.7")));
  const auto v6 = ip("2001:db8::7");
  EXPECT_TRUE(looks_generic("20010db8000000000000000000000007.example.net", v6));
  EXPECT_FALSE(looks_generic("mail.example.net", v6));
  EXPECT_FALSE(looks_generic("2001-db8--7.example.net", v6));  // not claimed: documented
}

TEST(looks_generic, dynamic_pool_tokens_left_of_the_domain) {
  const auto v4 = ip("198.51.100.20");
  for (const char* name :
       {"dynamic.example.net", "host.dynamic.example.net", "dyn-12.example.net",
        "a1.dhcp.example.net", "pool-42.example.net", "ppp12.dialup.example.net",
        "x.adsl.example.net", "cpe-1.example.net", "abc.cable.example.net",
        "p1.residential.example.net", "DSL-7.EXAMPLE.NET", "ppp_3.example.net"}) {
    EXPECT_TRUE(looks_generic(name, v4)) << name;
  }
  for (const char* name :
       {"mail.dyn.com", "smtp.pool.example", "mx.dynamicmail.example.net",
        "outbound.cablemail.example.net", "mail.dsl.net" /* "dsl" is the domain here */,
        "dynamo.example.net", "mail.example.com", "dialog.example.net"}) {
    EXPECT_FALSE(looks_generic(name, v4)) << name;
  }
}

class reverse_dns : public ::testing::Test {
 protected:
  reverse_dns_outcome check(const char* address, std::chrono::milliseconds timeout = 2s) {
    return smtp_test::run(io_, check_reverse_dns(dns_, ip(address), timeout));
  }
  asio::io_context io_;
  scripted_dns_lookup dns_;
};

TEST_F(reverse_dns, result_names) {
  const std::vector<std::string_view> names{"match", "no_ptr", "mismatch", "generic", "error"};
  for (std::size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(reverse_dns_result_name(static_cast<reverse_dns_result>(i)), names[i]);
  }
}

TEST_F(reverse_dns, match_when_a_name_maps_back) {
  dns_.names("7.113.0.203.in-addr.arpa", dns_record_type::ptr,
             {"other.example.com", "mail.example.com"});
  dns_.address("other.example.com", {"192.0.2.1"});
  dns_.address("mail.example.com", {"192.0.2.9", "203.0.113.7"});
  const auto r = check("203.0.113.7");
  EXPECT_EQ(r.result, reverse_dns_result::match);
  EXPECT_EQ(r.name, "mail.example.com");
  EXPECT_EQ(r.queries, 3);
}

TEST_F(reverse_dns, generic_mismatch_and_no_ptr) {
  dns_.names("7.113.0.203.in-addr.arpa", dns_record_type::ptr, {"203-0-113-7.dsl.example.net"});
  dns_.address("203-0-113-7.dsl.example.net", {"203.0.113.7"});
  auto r = check("203.0.113.7");
  EXPECT_EQ(r.result, reverse_dns_result::generic);
  EXPECT_EQ(r.name, "203-0-113-7.dsl.example.net");

  dns_.names("8.113.0.203.in-addr.arpa", dns_record_type::ptr, {"mail.example.com", "mx.example.com"});
  r = check("203.0.113.8");
  EXPECT_EQ(r.result, reverse_dns_result::mismatch);
  EXPECT_EQ(r.name, "mail.example.com");

  EXPECT_EQ(check("203.0.113.9").result, reverse_dns_result::no_ptr);
  dns_.fail("10.113.0.203.in-addr.arpa", st::nodata);
  EXPECT_EQ(check("203.0.113.10").result, reverse_dns_result::no_ptr);
}

TEST_F(reverse_dns, ipv6_asks_aaaa_under_ip6_arpa) {
  const std::string ptr = reverse_dns_name(ip("2001:db8::25"));
  EXPECT_EQ(ptr, "5.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  dns_.names(ptr, dns_record_type::ptr, {"mail.example.com"});
  dns_.address("mail.example.com", {"203.0.113.7", "2001:db8::25"});
  EXPECT_EQ(check("2001:db8::25").result, reverse_dns_result::match);
  EXPECT_EQ(dns_.count("mail.example.com AAAA"), 1);
  EXPECT_EQ(dns_.count("mail.example.com A"), 0);
}

TEST_F(reverse_dns, errors_are_errors) {
  dns_.fail("7.113.0.203.in-addr.arpa", st::timeout);
  auto r = check("203.0.113.7");
  EXPECT_EQ(r.result, reverse_dns_result::error);
  EXPECT_EQ(r.error, "timeout");
  dns_.fail("8.113.0.203.in-addr.arpa", st::failure);
  EXPECT_EQ(check("203.0.113.8").error, "dns_error");
  // A PTR name whose lookup fails: not a mismatch, since it might have mapped back.
  dns_.names("9.113.0.203.in-addr.arpa", dns_record_type::ptr, {"mail.example.com"});
  dns_.fail("mail.example.com", st::servfail);
  r = check("203.0.113.9");
  EXPECT_EQ(r.result, reverse_dns_result::error);
  EXPECT_EQ(r.error, "servfail");
  EXPECT_EQ(r.name, "mail.example.com");
  // ...but another name that maps back still decides.
  dns_.names("9.113.0.203.in-addr.arpa", dns_record_type::ptr, {"mail.example.com", "mx.example.com"});
  dns_.address("mx.example.com", {"203.0.113.9"});
  EXPECT_EQ(check("203.0.113.9").result, reverse_dns_result::match);
}

TEST_F(reverse_dns, error_classes_are_dnsbls) {
  for (const st s : {st::servfail, st::refused, st::timeout, st::unreachable, st::failure}) {
    dns_answer a;
    a.outcome = s;
    EXPECT_EQ(dns_error_class(s), to_string(classify_dnsbl_answer(a).result));
  }
  EXPECT_EQ(dns_error_class(st::ok), "");
  EXPECT_EQ(dns_error_class(st::nxdomain), "");
  EXPECT_EQ(dns_error_class(st::nodata), "");
}

TEST_F(reverse_dns, at_most_ten_names_are_checked) {
  std::vector<std::string> names;
  for (int i = 0; i < 12; ++i) names.push_back("n" + std::to_string(i) + ".example.com");
  dns_.names("7.113.0.203.in-addr.arpa", dns_record_type::ptr, names);
  dns_.address("n11.example.com", {"203.0.113.7"});
  const auto r = check("203.0.113.7");
  EXPECT_EQ(r.result, reverse_dns_result::mismatch);
  EXPECT_EQ(r.queries, 11);
}

}  // namespace
}  // namespace smtp_exporter::probes
