#include "probes/imap/auth_results.hpp"

#include <gtest/gtest.h>

#include <string>

namespace smtp_exporter::probes::imap {
namespace {

TEST(auth_results, gmail_style_header) {
  auto r = parse_authentication_results(
      "mx.google.com;\r\n"
      "       dkim=pass header.i=@example.org header.s=s1 header.b=\"AbC+/=\";\r\n"
      "       spf=pass (google.com: domain of a@example.org designates 192.0.2.1 as permitted "
      "sender) smtp.mailfrom=a@example.org;\r\n"
      "       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.org");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->authserv_id, "mx.google.com");
  ASSERT_EQ(r->results.size(), 3u);
  EXPECT_EQ(r->results[0].method, "dkim");
  EXPECT_EQ(r->results[0].result, "pass");
  ASSERT_EQ(r->results[0].properties.size(), 3u);
  EXPECT_EQ(r->results[0].properties[2].value, "AbC+/=");
  const auto* spf = find_method(*r, "spf");
  ASSERT_NE(spf, nullptr);
  EXPECT_EQ(spf->properties.at(0).type, "smtp");
  EXPECT_EQ(spf->properties.at(0).name, "mailfrom");
  EXPECT_EQ(spf->properties.at(0).value, "a@example.org");
  EXPECT_EQ(find_method(*r, "dmarc")->result, "pass");
  EXPECT_EQ(r->skipped, 0u);
}

TEST(auth_results, failures_reasons_versions_and_case) {
  auto r = parse_authentication_results(
      "mx.test 1; SPF=Fail smtp.mailfrom=x@y.test; dkim=none; "
      "dmarc=fail reason=\"p=reject; aligned (no)\" header.from=y.test");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->results.size(), 3u);
  EXPECT_EQ(r->results[0].method, "spf");
  EXPECT_EQ(r->results[0].result, "fail");
  EXPECT_EQ(r->results[1].method, "dkim");
  EXPECT_EQ(r->results[1].result, "none");
  EXPECT_EQ(r->results[2].reason, "p=reject; aligned (no)");
  EXPECT_EQ(r->results[2].properties.at(0).value, "y.test");
}

TEST(auth_results, nested_comments_and_none) {
  auto r = parse_authentication_results("(a (nested \\) comment)) example.net (x); none");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->authserv_id, "example.net");
  EXPECT_TRUE(r->none);
  EXPECT_TRUE(r->results.empty());
}

TEST(auth_results, a_bad_result_does_not_hide_the_others) {
  auto r = parse_authentication_results("mx.test; =pass; dkim/1=pass; junk; spf = softfail");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->results.size(), 2u);
  EXPECT_EQ(r->results[0].method, "dkim");
  EXPECT_EQ(r->results[1].method, "spf");
  EXPECT_EQ(r->results[1].result, "softfail");
  EXPECT_EQ(r->skipped, 2u);
}

TEST(auth_results, empty_and_unterminated_inputs) {
  EXPECT_FALSE(parse_authentication_results(""));
  EXPECT_FALSE(parse_authentication_results("  (only a comment)"));
  EXPECT_FALSE(parse_authentication_results("\"\"; spf=pass"));
  // The method and result are kept; the unreadable rest of that result is dropped.
  auto r = parse_authentication_results("mx.test; spf=pass reason=\"unterminated; dkim=pass");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->results.size(), 1u);
  EXPECT_EQ(r->results[0].method, "spf");
  EXPECT_EQ(r->results[0].reason, "");
}

TEST(auth_results, bounded_number_of_results) {
  std::string many = "mx.test";
  for (int i = 0; i < 100; ++i) many += "; spf=pass";
  auto r = parse_authentication_results(many, 8);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->results.size(), 8u);
  EXPECT_TRUE(r->truncated);
}

}  // namespace
}  // namespace smtp_exporter::probes::imap
