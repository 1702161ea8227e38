// The SPF record parser (probes/dns/spf_record.hpp) with plain strings: record selection, each
// mechanism's grammar (RFC 7208 5), modifiers (6), and the syntax errors that must make the
// whole record a permerror wherever they stand (4.6).
#include "probes/dns/spf_record.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <ostream>
#include <string>

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using k = spf_mechanism_kind;

spf_record parsed(const std::string& text) {
  std::string error;
  auto r = parse_spf_record(text, &error);
  EXPECT_TRUE(r) << text << ": " << error;
  return r ? *r : spf_record{};
}

std::string error_of(const std::string& text) {
  std::string error;
  auto r = parse_spf_record(text, &error);
  return r ? "<parsed>" : error;
}

TEST(spf_record, selection) {
  EXPECT_TRUE(is_spf_record("v=spf1"));
  EXPECT_TRUE(is_spf_record("v=spf1 -all"));
  EXPECT_TRUE(is_spf_record("V=SpF1 ~all"));
  EXPECT_FALSE(is_spf_record("v=spf10"));
  EXPECT_FALSE(is_spf_record("v=spf1mx"));  // TXT strings glued without a space
  EXPECT_FALSE(is_spf_record(" v=spf1 -all"));
  EXPECT_FALSE(is_spf_record("v=spf2.0/pra -all"));
  EXPECT_FALSE(is_spf_record(""));
}

TEST(spf_record, mechanisms_and_their_arguments) {
  const spf_record r = parsed(
      "v=spf1 ip4:192.0.2.0/24 -ip6:2001:db8::/32 a a:mail.example.com/28//64 mx//0 ~mx:%{d} "
      "ptr ?ptr:example.com exists:%{ir}.bl.example.com include:_spf.example.com +all");
  ASSERT_EQ(r.mechanisms.size(), 11u);
  EXPECT_EQ(r.mechanisms[0].kind, k::ip4);
  EXPECT_EQ(r.mechanisms[0].network, asio::ip::make_address("192.0.2.0"));
  EXPECT_EQ(r.mechanisms[0].cidr4, 24);
  EXPECT_EQ(r.mechanisms[1].kind, k::ip6);
  EXPECT_EQ(r.mechanisms[1].qualifier, spf_qualifier::fail);
  EXPECT_EQ(r.mechanisms[1].cidr6, 32);
  EXPECT_EQ(r.mechanisms[2].kind, k::a);
  EXPECT_EQ(r.mechanisms[2].domain_spec, "");
  EXPECT_EQ(r.mechanisms[2].cidr4, 32);
  EXPECT_EQ(r.mechanisms[2].cidr6, 128);
  EXPECT_EQ(r.mechanisms[3].domain_spec, "mail.example.com");
  EXPECT_EQ(r.mechanisms[3].cidr4, 28);
  EXPECT_EQ(r.mechanisms[3].cidr6, 64);
  EXPECT_EQ(r.mechanisms[4].kind, k::mx);
  EXPECT_EQ(r.mechanisms[4].cidr4, 32);
  EXPECT_EQ(r.mechanisms[4].cidr6, 0);
  EXPECT_EQ(r.mechanisms[5].qualifier, spf_qualifier::softfail);
  EXPECT_EQ(r.mechanisms[5].domain_spec, "%{d}");
  EXPECT_EQ(r.mechanisms[6].kind, k::ptr);
  EXPECT_EQ(r.mechanisms[7].qualifier, spf_qualifier::neutral);
  EXPECT_EQ(r.mechanisms[7].domain_spec, "example.com");
  EXPECT_EQ(r.mechanisms[8].kind, k::exists);
  EXPECT_EQ(r.mechanisms[9].kind, k::include);
  EXPECT_EQ(r.mechanisms[9].text, "include:_spf.example.com");
  EXPECT_EQ(r.mechanisms[10].kind, k::all);
  EXPECT_EQ(r.mechanisms[10].qualifier, spf_qualifier::pass);
  EXPECT_FALSE(r.redirect);
  int lookups = 0;
  for (const auto& m : r.mechanisms) lookups += m.counts_as_lookup();
  EXPECT_EQ(lookups, 8);
}

TEST(spf_record, names_are_case_insensitive_and_spaces_repeat) {
  const spf_record r = parsed("v=spf1  IP4:192.0.2.1   MX  Redirect=example.com ");
  ASSERT_EQ(r.mechanisms.size(), 2u);
  EXPECT_EQ(r.mechanisms[0].kind, k::ip4);
  EXPECT_EQ(r.mechanisms[1].kind, k::mx);
  EXPECT_EQ(r.redirect, "example.com");
  EXPECT_TRUE(parsed("v=spf1").mechanisms.empty());
}

TEST(spf_record, modifiers) {
  const spf_record r = parsed("v=spf1 exp=explain.%{d} redirect=_spf.example.com moo.cow-far_out=man:dog/cat default=+");
  EXPECT_EQ(r.redirect, "_spf.example.com");
  EXPECT_EQ(r.explanation, "explain.%{d}");
  EXPECT_TRUE(r.mechanisms.empty());
}

struct syntax_case {
  const char* record;
  const char* why;  // the start of the error message
};
// The record on one line: control and non-ASCII bytes as \xNN.
void PrintTo(const syntax_case& c, std::ostream* os) {
  for (const char* p = c.record; *p; ++p) {
    const auto byte = static_cast<unsigned char>(*p);
    if (byte >= 0x20 && byte < 0x7f) {
      *os << *p;
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      *os << hex;
    }
  }
}

class spf_record_syntax : public ::testing::TestWithParam<syntax_case> {};

TEST_P(spf_record_syntax, the_whole_record_is_refused) {
  const std::string error = error_of(GetParam().record);
  EXPECT_EQ(error.substr(0, std::string(GetParam().why).size()), GetParam().why)
      << GetParam().record << " -> " << error;
}

// From the RFC's grammar and the openspf suite's syntax scenarios.
INSTANTIATE_TEST_SUITE_P(
    rfc7208, spf_record_syntax,
    ::testing::Values(
        syntax_case{"v=spf1 ip4:1.2.3.4 -all moo", "unknown mechanism \"moo\""},
        syntax_case{"v=spf1 moo.cow/far_out=man:dog/cat -all", "unknown mechanism"},
        syntax_case{"v=spf1 moo.cow:far_out=man:dog/cat -all", "unknown mechanism"},
        syntax_case{"v=spf1 ip4:1.2.3.4 redirect:t2.example.com", "unknown mechanism"},
        syntax_case{"v=spf1 1up=foo", "unknown mechanism"},
        syntax_case{"v=spf1 =all", "unknown mechanism"},
        syntax_case{"v=spf1 -all.", "unknown mechanism"},
        syntax_case{"v=spf1 -all:foobar", "\"-all:foobar\": \"all\" takes no argument"},
        syntax_case{"v=spf1 -all/8", "\"-all/8\": \"all\" takes no argument"},
        syntax_case{"v=spf1 ptr/0 -all", "unexpected text in \"ptr/0\""},
        syntax_case{"v=spf1 a/33 -all", "\"a/33\": invalid IPv4 CIDR length"},
        syntax_case{"v=spf1 a//129 -all", "\"a//129\": invalid IPv6 CIDR length"},
        syntax_case{"v=spf1 a/24/64 -all", "\"a/24/64\": invalid IPv4 CIDR length"},
        syntax_case{"v=spf1 a:example.com:8080", "\"a:example.com:8080\": domain-spec"},
        syntax_case{"v=spf1 a:abc.123", "\"a:abc.123\": domain-spec"},
        syntax_case{"v=spf1 a:", "\"a:\": empty domain-spec"},
        syntax_case{"v=spf1 mx: -all", "\"mx:\": empty domain-spec"},
        syntax_case{"v=spf1 include +all", "\"include\" needs \":domain\""},
        syntax_case{"v=spf1 include:ip5.example.com/24 -all", "\"include:ip5.example.com/24\""},
        syntax_case{"v=spf1 exists", "\"exists\" needs \":domain\""},
        syntax_case{"v=spf1 exists:mail.example.com/24", "\"exists:mail.example.com/24\""},
        syntax_case{"v=spf1 ip4", "\"ip4\" needs \":address\""},
        syntax_case{"v=spf1 ip4:1.2.3.4/33", "\"ip4:1.2.3.4/33\": invalid CIDR length"},
        syntax_case{"v=spf1 ip4:1.2.3.4/032", "\"ip4:1.2.3.4/032\": invalid CIDR length"},
        syntax_case{"v=spf1 ip4:1.2.3.4//32", "\"ip4:1.2.3.4//32\": invalid address"},
        syntax_case{"v=spf1 ip4:1.2.3.4:8080", "\"ip4:1.2.3.4:8080\": invalid address"},
        syntax_case{"v=spf1 ip4:1.2.3", "\"ip4:1.2.3\": invalid address"},
        syntax_case{"v=spf1 ip4:1.2.03.4", "\"ip4:1.2.03.4\": invalid address"},
        syntax_case{"v=spf1 ip4:1.2.3.256", "\"ip4:1.2.3.256\": invalid address"},
        syntax_case{"v=spf1 -all ip6", "\"ip6\" needs \":address\""},
        syntax_case{"v=spf1 ip6:::1.1.1.1/129", "\"ip6:::1.1.1.1/129\": invalid CIDR length"},
        syntax_case{"v=spf1 ip6:::1.1.1.1//33", "\"ip6:::1.1.1.1//33\": invalid address"},
        syntax_case{"v=spf1 ip6::CAFE::BABE", "\"ip6::CAFE::BABE\": invalid address"},
        syntax_case{"v=spf1 ip6:fe80::1%eth0", "\"ip6:fe80::1%eth0\": invalid address"},
        syntax_case{"v=spf1 exp= -all", "\"exp=\": empty domain-spec"},
        syntax_case{"v=spf1 exp=-all", "\"exp=-all\": domain-spec"},
        syntax_case{"v=spf1 redirect=-all ?all", "\"redirect=-all\": domain-spec"},
        syntax_case{"v=spf1 ?all redirect=", "\"redirect=\": empty domain-spec"},
        syntax_case{"v=spf1 exp=a.example.com -all exp=b.example.com", "exp= given twice"},
        syntax_case{"v=spf1 redirect=a.example.com redirect=a.example.com", "redirect= given twice"},
        syntax_case{"v=spf1 -all foo=%abc", "\"foo=%abc\": '%' followed by 'a'"},
        syntax_case{"v=spf1 -all exp=%{r}.example.com", "\"exp=%{r}.example.com\": macro %{r}"},
        syntax_case{"v=spf1 a:%{a}.example.com -all", "\"a:%{a}.example.com\": unknown macro"},
        syntax_case{"v=spf1 a:ctrl.example.com\rptr -all", "character 0x0d"},
        syntax_case{"v=spf1 ip4:192.0.2.5\n include:x.example.com ~all", "character 0x0a"},
        syntax_case{"v=spf1 \x80" "a:example.net -all", "character 0x80"},
        syntax_case{"v=spf1 -all,", "unknown mechanism"},
        syntax_case{"spf1 -all", "not an SPF record"}));

TEST(spf_record, a_nul_byte_is_refused) {
  const std::string record("v=spf1 a:foo.example.com\0", 25);
  EXPECT_EQ(error_of(record), "character 0x00 (records are printable ASCII)");
}

TEST(spf_record, hostile_records_are_bounded) {
  std::string big = "v=spf1";
  while (big.size() <= max_spf_record_size) big += " ip4:192.0.2.1";
  EXPECT_EQ(error_of(big).substr(0, 18), "record longer than");
  std::string many = "v=spf1";
  while (many.size() + 14 <= max_spf_record_size) many += " ip4:192.0.2.1";
  EXPECT_EQ(parsed(many).mechanisms.size(), (many.size() - 6) / 14);
}

}  // namespace
}  // namespace smtp_exporter::probes
