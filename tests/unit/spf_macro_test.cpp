// SPF macros and domain-spec syntax (probes/dns/spf_macro.hpp) with plain strings: the examples
// of RFC 7208 section 7.4, each syntax rule of 7.1 on both sides, and the target-name rules.
#include "probes/dns/spf_macro.hpp"

#include <gtest/gtest.h>

#include <ostream>
#include <string>

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;

// RFC 7208 7.4: sender strong-bad@email.example.com, IPv4 192.0.2.3, IPv6 2001:db8::cb01, PTR
// name mx.example.org.
spf_macro_values rfc_values(const char* ip = "192.0.2.3") {
  spf_macro_values v;
  v.sender = "strong-bad@email.example.com";
  v.local_part = "strong-bad";
  v.sender_domain = "email.example.com";
  v.domain = "email.example.com";
  v.ip = asio::ip::make_address(ip);
  v.validated_name = "mx.example.org";
  v.helo = "mx.example.org";
  v.receiver = "receiver.example.net";
  v.timestamp = "1700000000";
  return v;
}

std::string expand(const std::string& text, const spf_macro_values& v = rfc_values(),
                   spf_macro_context context = spf_macro_context::domain) {
  std::string error;
  auto out = expand_macros(text, v, context, &error);
  return out ? *out : "ERROR: " + error;
}

struct expansion_case {
  const char* macro;
  const char* expansion;
};
void PrintTo(const expansion_case& c, std::ostream* os) { *os << c.macro; }

class spf_macro_rfc_examples : public ::testing::TestWithParam<expansion_case> {};

TEST_P(spf_macro_rfc_examples, expand_as_the_rfc_says) {
  EXPECT_EQ(expand(GetParam().macro), GetParam().expansion) << GetParam().macro;
}

INSTANTIATE_TEST_SUITE_P(
    rfc7208_7_4, spf_macro_rfc_examples,
    ::testing::Values(
        expansion_case{"%{s}", "strong-bad@email.example.com"},
        expansion_case{"%{o}", "email.example.com"}, expansion_case{"%{d}", "email.example.com"},
        expansion_case{"%{d4}", "email.example.com"}, expansion_case{"%{d3}", "email.example.com"},
        expansion_case{"%{d2}", "example.com"}, expansion_case{"%{d1}", "com"},
        expansion_case{"%{dr}", "com.example.email"}, expansion_case{"%{d2r}", "example.email"},
        expansion_case{"%{l}", "strong-bad"}, expansion_case{"%{l-}", "strong.bad"},
        expansion_case{"%{lr}", "strong-bad"}, expansion_case{"%{lr-}", "bad.strong"},
        expansion_case{"%{l1r-}", "strong"},
        expansion_case{"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
        expansion_case{"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
        expansion_case{"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
                       "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
        expansion_case{"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
                       "3.2.0.192.in-addr.strong.lp._spf.example.com"},
        expansion_case{"%{d2}.trusted-domains.example.net",
                       "example.com.trusted-domains.example.net"},
        expansion_case{"%{p}", "mx.example.org"}, expansion_case{"%{p2}", "example.org"},
        expansion_case{"%{h}", "mx.example.org"},
        // 7.1: the escapes, and several delimiters at once.
        expansion_case{"a%%b%_c%-d", "a%b c%20d"},
        expansion_case{"%{l+-}", "strong.bad"}));

TEST(spf_macro, ipv6_i_is_dotted_nibbles) {
  EXPECT_EQ(expand("%{ir}.%{v}._spf.%{d2}", rfc_values("2001:db8::cb01")),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
  EXPECT_EQ(expand("%{i}", rfc_values("2001:db8::cb01")),
            "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1");
  // An IPv4-mapped address is IPv4 (RFC 7208 5).
  EXPECT_EQ(expand("%{i} %{v}", rfc_values("::ffff:192.0.2.3"), spf_macro_context::explanation),
            "192.0.2.3 in-addr");
}

TEST(spf_macro, upper_case_letters_are_url_escaped) {
  spf_macro_values v = rfc_values();
  v.local_part = "~jack&jill=up-a_b3.c";
  EXPECT_EQ(expand("%{L}", v), "~jack%26jill%3Dup-a_b3.c");
  EXPECT_EQ(expand("%{l}", v), "~jack&jill=up-a_b3.c");
  v.helo = "[192.0.2.3]";
  EXPECT_EQ(expand("%{H}", v), "%5B192.0.2.3%5D");
}

TEST(spf_macro, explanation_letters_only_in_explanations) {
  EXPECT_EQ(expand("%{c} %{r} %{t}", rfc_values(), spf_macro_context::explanation),
            "192.0.2.3 receiver.example.net 1700000000");
  EXPECT_EQ(expand("%{c}", rfc_values("2001:db8::cb01"), spf_macro_context::explanation),
            "2001:db8::cb01");
  for (const char* text : {"%{c}", "%{r}.example.com", "%{t}"}) {
    EXPECT_TRUE(macro_string_error(text, spf_macro_context::domain)) << text;
    EXPECT_FALSE(macro_string_error(text, spf_macro_context::explanation)) << text;
  }
}

TEST(spf_macro, syntax_errors) {
  for (const char* text : {"%", "a%", "%(ir).sbl.example.com", "foo%.sbl.example.com", "%{",
                           "%{d", "%{}", "%{a}", "%{x}", "%{d0}", "%{d2x}", "%{d*}", "a b",
                           "a\tb", "caf\xc3\xa9"}) {
    EXPECT_TRUE(macro_string_error(text, spf_macro_context::domain)) << text;
  }
  for (const char* text : {"", "%%", "%_", "%-", "%{d}", "%{D2r.-+,/_=}", "%{i}.x",
                           "a:b/c=d~e!f"}) {
    EXPECT_FALSE(macro_string_error(text, spf_macro_context::domain)) << text;
  }
  EXPECT_FALSE(macro_string_error("a b", spf_macro_context::explanation));
}

TEST(spf_macro, domain_spec_ends_in_a_macro_or_a_toplabel) {
  for (const char* good :
       {"example.com", "example.com.", "foo.example.xn--zckzah", "%{d}", "_spf.%{d2}",
        "%{ir}.%{v}._spf.%{d2}", "foo:bar/baz.example.com", "a.b-c", "x.123-456", "a.%%",
        "macro%%percent%_%_space%-url-space.example.com", "%{H}.bar"}) {
    EXPECT_FALSE(domain_spec_error(good)) << good;
  }
  for (const char* bad : {"", "foo-bar", "museum", "museum.", "example.-com", "abc.123",
                          "111.222.33.44", "example.com:8080", "example.com-", "%{d}.",
                          "ip5.example.com/24", "mail.example.com\x01"}) {
    EXPECT_TRUE(domain_spec_error(bad)) << bad;
  }
}

TEST(spf_macro, p_macro_is_noticed) {
  EXPECT_TRUE(uses_validated_name("%{p}.example.com"));
  EXPECT_TRUE(uses_validated_name("x.%{P2}.example.com"));
  EXPECT_FALSE(uses_validated_name("%%{p}.example.com"));  // "%%" then a literal "{p}"
  EXPECT_FALSE(uses_validated_name("%{d}.example.com"));
}

TEST(spf_macro, expansion_is_bounded) {
  spf_macro_values v = rfc_values();
  v.local_part = std::string(1000, 'a');
  std::string many;
  for (int i = 0; i < 20; ++i) many += "%{l}";
  std::string error;
  EXPECT_FALSE(expand_macros(many, v, spf_macro_context::domain, &error));
  EXPECT_EQ(error, "macro expansion too long");
  EXPECT_TRUE(expand_macros(many.substr(0, 4 * 8), v, spf_macro_context::domain));
}

TEST(spf_macro, target_names) {
  EXPECT_EQ(spf_target_name("Mail.Example.COM."), "mail.example.com");
  // 7.3: longer than 253 characters: labels are dropped from the left.
  std::string name, expected;
  for (int i = 0; i < 9; ++i) name += "somewhat.long.exp.example.com.";
  for (int i = 0; i < 8; ++i) expected += "somewhat.long.exp.example.com.";
  name += "example.com";  // 281 characters; five labels go
  expected += "example.com";
  const std::string target = spf_target_name(name);
  EXPECT_EQ(target, expected);
  EXPECT_EQ(target.size(), 251u);
  EXPECT_TRUE(is_queryable_name(target));
  EXPECT_TRUE(is_queryable_name("a.b"));
  EXPECT_TRUE(is_queryable_name("single"));
  EXPECT_FALSE(is_queryable_name(""));
  EXPECT_FALSE(is_queryable_name("mail.example...com"));
  EXPECT_FALSE(is_queryable_name("a." + std::string(64, 'b') + ".com"));
  EXPECT_TRUE(is_queryable_name("a." + std::string(63, 'b') + ".com"));
  EXPECT_FALSE(is_queryable_name(std::string(254, 'a')));
}

}  // namespace
}  // namespace smtp_exporter::probes
