// probes/dnsbl: every answer class lands in its documented result, row by row; no error class
// can read as listed.
#include "probes/dns/dnsbl.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <set>
#include <string>
#include <vector>

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using st = dns_answer::status;

dns_answer with_addresses(std::vector<std::string> addresses) {
  dns_answer a;
  a.outcome = st::ok;
  for (const auto& text : addresses) a.addresses.push_back(asio::ip::make_address(text));
  return a;
}

dns_answer with_status(st s, std::string error = "") {
  dns_answer a;
  a.outcome = s;
  a.error = std::move(error);
  return a;
}

struct verdict_case {
  std::string name;
  dns_answer answer;
  dnsbl_result result;
  std::vector<int> codes;
  std::string detail;
};

void PrintTo(const verdict_case& c, std::ostream* os) { *os << c.name; }

class dnsbl_verdicts : public testing::TestWithParam<verdict_case> {};

TEST_P(dnsbl_verdicts, classify) {
  const auto& c = GetParam();
  const auto v = classify_dnsbl_answer(c.answer);
  EXPECT_EQ(to_string(v.result), to_string(c.result));
  EXPECT_EQ(v.return_codes, c.codes);
  EXPECT_EQ(v.detail, c.detail);
}

INSTANTIATE_TEST_SUITE_P(
    rows, dnsbl_verdicts,
    testing::Values(
        verdict_case{"listed_127_0_0_2", with_addresses({"127.0.0.2"}), dnsbl_result::listed, {2}, ""},
        verdict_case{"listed_several_codes_sorted", with_addresses({"127.0.0.11", "127.0.0.4", "127.0.0.4"}),
                     dnsbl_result::listed, {4, 11}, ""},
        verdict_case{"listed_other_127_8", with_addresses({"127.1.2.3"}), dnsbl_result::listed, {3}, ""},
        verdict_case{"nxdomain_not_listed", with_status(st::nxdomain), dnsbl_result::not_listed, {}, ""},
        verdict_case{"nodata_not_listed", with_status(st::nodata), dnsbl_result::not_listed, {}, ""},
        verdict_case{"typo_252", with_addresses({"127.255.255.252"}), dnsbl_result::zone_typo, {},
                     "127.255.255.252"},
        verdict_case{"public_resolver_254", with_addresses({"127.255.255.254"}),
                     dnsbl_result::resolver_refused, {}, "127.255.255.254"},
        verdict_case{"rate_limited_255", with_addresses({"127.255.255.255"}),
                     dnsbl_result::rate_limited, {}, "127.255.255.255"},
        verdict_case{"other_255_255_code", with_addresses({"127.255.255.253"}),
                     dnsbl_result::invalid_answer, {}, "127.255.255.253"},
        verdict_case{"loopback_127_0_0_1", with_addresses({"127.0.0.1"}),
                     dnsbl_result::invalid_answer, {}, "127.0.0.1"},
        verdict_case{"outside_127_8_rewritten", with_addresses({"192.0.2.1"}),
                     dnsbl_result::answer_rewritten, {}, "192.0.2.1"},
        verdict_case{"ipv6_answer_rewritten", with_addresses({"2001:db8::1"}),
                     dnsbl_result::answer_rewritten, {}, "2001:db8::1"},
        // An error next to a listing code decides: an error never reads as listed.
        verdict_case{"listing_and_254", with_addresses({"127.0.0.2", "127.255.255.254"}),
                     dnsbl_result::resolver_refused, {}, "127.255.255.254"},
        verdict_case{"listing_and_rewritten", with_addresses({"127.0.0.2", "198.51.100.9", "127.255.255.255"}),
                     dnsbl_result::answer_rewritten, {}, "198.51.100.9"},
        verdict_case{"servfail", with_status(st::servfail, "Server failure"), dnsbl_result::servfail,
                     {}, "Server failure"},
        verdict_case{"refused", with_status(st::refused, "Refused"), dnsbl_result::refused, {},
                     "Refused"},
        verdict_case{"timeout", with_status(st::timeout, "deadline exceeded"), dnsbl_result::timeout,
                     {}, "deadline exceeded"},
        verdict_case{"port_closed", with_status(st::unreachable, "Connection refused"),
                     dnsbl_result::unreachable, {}, "Connection refused"},
        verdict_case{"malformed", with_status(st::failure, "Misformatted DNS reply"),
                     dnsbl_result::dns_error, {}, "Misformatted DNS reply"}),
    [](const auto& info) { return info.param.name; });

TEST(dnsbl_results, every_error_is_an_error_and_names_are_unique) {
  std::set<std::string> names;
  for (std::size_t i = 0; i < dnsbl_result_count; ++i) {
    const auto r = static_cast<dnsbl_result>(i);
    names.insert(std::string(to_string(r)));
    EXPECT_EQ(is_error(r), r != dnsbl_result::listed && r != dnsbl_result::not_listed);
  }
  EXPECT_EQ(names.size(), dnsbl_result_count);
}

// How long a result is kept: answers by max(interval, TTL) with the TTL capped at 1 h; errors
// never by their TTL, and retried within 5 min.
TEST(dnsbl_keep_for, answers_by_capped_ttl_errors_by_short_retry) {
  using std::chrono::hours;
  using std::chrono::milliseconds;
  using std::chrono::minutes;
  using std::chrono::seconds;
  struct row {
    dnsbl_result result;
    std::uint32_t ttl;
    milliseconds interval;
    milliseconds kept;
  };
  const row rows[] = {
      {dnsbl_result::listed, 60, minutes(15), minutes(15)},          // TTL shorter: the interval
      {dnsbl_result::listed, 2400, minutes(15), seconds(2400)},      // TTL longer: the TTL
      {dnsbl_result::listed, 86400 * 7, minutes(15), hours(1)},      // ... at most 1 h
      {dnsbl_result::not_listed, 0xffffffffu, minutes(15), hours(1)},
      {dnsbl_result::not_listed, 86400, hours(6), hours(6)},         // a longer interval wins
      {dnsbl_result::answer_rewritten, 86400, minutes(15), minutes(5)},  // errors: never the TTL
      {dnsbl_result::resolver_refused, 86400, minutes(15), minutes(5)},
      {dnsbl_result::rate_limited, 3600, minutes(15), minutes(5)},
      {dnsbl_result::timeout, 0, minutes(15), minutes(5)},
      {dnsbl_result::servfail, 0, seconds(30), seconds(30)},         // within a shorter interval
      {dnsbl_result::invalid_answer, 86400, seconds(1), seconds(1)},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(dnsbl_keep_for(r.result, r.ttl, r.interval), r.kept)
        << to_string(r.result) << " ttl " << r.ttl << " interval " << r.interval.count();
  }
}

TEST(dnsbl_query_name, ipv4_reversed_octets) {
  EXPECT_EQ(dnsbl_query_name(asio::ip::make_address("203.0.113.7"), "zen.spamhaus.org"),
            "7.113.0.203.zen.spamhaus.org");
  EXPECT_EQ(dnsbl_query_name(asio::ip::make_address("127.0.0.2"), "bl.test."), "2.0.0.127.bl.test");
  // A DQS key is a prefix of the zone.
  EXPECT_EQ(dnsbl_query_name(asio::ip::make_address("192.0.2.1"), "KEY.zen.dq.spamhaus.net"),
            "1.2.0.192.KEY.zen.dq.spamhaus.net");
  // A v4-mapped IPv6 address is the IPv4 address.
  EXPECT_EQ(dnsbl_query_name(asio::ip::make_address("::ffff:192.0.2.1"), "bl.test"),
            "1.2.0.192.bl.test");
}

TEST(dnsbl_query_name, ipv6_nibbles_rfc5782) {
  // RFC 5782 section 2.4's example.
  EXPECT_EQ(dnsbl_query_name(asio::ip::make_address("2001:db8:1:2:3:4:567:89ab"), "ugly.example.com"),
            "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.ugly.example.com");
}

TEST(egress_discovery, presets_and_methods) {
  const auto opendns = egress_preset(egress_method::opendns);
  ASSERT_TRUE(opendns);
  EXPECT_EQ(opendns->name, "myip.opendns.com");
  EXPECT_EQ(opendns->server, "208.67.222.222");
  EXPECT_EQ(opendns->type, dns_record_type::a);
  const auto google = egress_preset(egress_method::google);
  ASSERT_TRUE(google);
  EXPECT_EQ(google->name, "o-o.myaddr.l.google.com");
  EXPECT_EQ(google->server, "216.239.32.10");
  EXPECT_EQ(google->type, dns_record_type::txt);
  const auto opendns6 = egress_preset(egress_method::opendns, true);
  ASSERT_TRUE(opendns6);
  EXPECT_EQ(opendns6->name, "myip.opendns.com");
  EXPECT_EQ(opendns6->server, "2620:119:35::35");
  EXPECT_EQ(opendns6->type, dns_record_type::aaaa);
  EXPECT_EQ(egress_preset(egress_method::google, true)->server, "2001:4860:4802:32::a");
  EXPECT_FALSE(egress_preset(egress_method::custom));
  for (auto m : {egress_method::opendns, egress_method::google, egress_method::custom})
    EXPECT_EQ(parse_egress_method(to_string(m)), m);
  EXPECT_FALSE(parse_egress_method("OpenDNS"));
}

TEST(egress_discovery, addresses_from_a_and_txt_answers) {
  auto a = with_addresses({"203.0.113.7", "203.0.113.7", "0.0.0.0"});
  EXPECT_EQ(egress_addresses(a), (std::vector{asio::ip::make_address("203.0.113.7")}));
  dns_answer txt;
  txt.outcome = st::ok;
  txt.texts = {"edns0-client-subnet 198.51.100.0/24", "2001:db8::7"};
  EXPECT_EQ(egress_addresses(txt), (std::vector{asio::ip::make_address("2001:db8::7")}));
  EXPECT_TRUE(egress_addresses(with_status(st::timeout)).empty());
}

TEST(egress_discovery, errors_have_their_own_names) {
  EXPECT_EQ(discovery_error(with_status(st::nxdomain)), "not_found");
  EXPECT_EQ(discovery_error(with_status(st::nodata)), "not_found");
  dns_answer only_garbage;
  only_garbage.outcome = st::ok;
  only_garbage.texts = {"not an address"};
  EXPECT_EQ(discovery_error(only_garbage), "no_address");
  EXPECT_EQ(discovery_error(with_status(st::timeout)), "timeout");
  EXPECT_EQ(discovery_error(with_status(st::refused)), "refused");
  EXPECT_EQ(discovery_error(with_status(st::servfail)), "servfail");
  EXPECT_EQ(discovery_error(with_status(st::unreachable)), "unreachable");
  EXPECT_EQ(discovery_error(with_status(st::failure)), "dns_error");
}

}  // namespace
}  // namespace smtp_exporter::probes
