// The status page's DNSBL section: listings first with their TXT and delisting link, errors
// never shown as listed or clean, everything escaped.
#include "exporter/dnsbl/page.hpp"

#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

dnsbl_check check(std::string ip, std::string zone, probes::dnsbl_result r, bool listed) {
  dnsbl_check c;
  c.ip = std::move(ip);
  c.zone = std::move(zone);
  c.result = r;
  c.has_answer = r == probes::dnsbl_result::listed || r == probes::dnsbl_result::not_listed;
  c.listed = listed;
  c.last_lookup_timestamp = 1796000000;
  return c;
}

dnsbl_status sample() {
  dnsbl_status s;
  s.enabled = true;
  s.egress = {{"203.0.113.7", 4, "configured"}, {"198.51.100.20", 4, "opendns"}};
  s.discovery_method = "opendns";
  s.discovery_has_result = true;
  s.discovery_ok = false;
  s.discovery_error = "timeout";
  s.discovery_detail = "deadline exceeded";
  dnsbl_zone_status zen;
  zen.name = "zen.spamhaus.org";
  zen.blocking = true;
  zen.delist_url = "https://check.spamhaus.org/";
  dnsbl_zone_status evil;
  evil.name = "evil.test";
  evil.delist_url = "javascript:alert(1)";
  s.zones = {zen, evil};
  s.checks.push_back(check("198.51.100.20", "zen.spamhaus.org", probes::dnsbl_result::not_listed, false));
  auto refused = check("203.0.113.10", "zen.spamhaus.org", probes::dnsbl_result::resolver_refused, false);
  refused.detail = "127.255.255.254";
  s.checks.push_back(refused);
  auto listed = check("203.0.113.7", "zen.spamhaus.org", probes::dnsbl_result::listed, true);
  listed.return_codes = {2, 4};
  listed.txt = "<script>x</script> https://check.spamhaus.org/query/ip/203.0.113.7";
  s.checks.push_back(listed);
  auto other = check("192.0.2.5", "evil.test", probes::dnsbl_result::listed, true);
  other.target = "relay<b>";
  s.checks.push_back(other);
  return s;
}

TEST(dnsbl_page, off_renders_nothing) { EXPECT_EQ(render_dnsbl_section(dnsbl_status{}), ""); }

TEST(dnsbl_page, listings_first_with_txt_codes_and_delisting_link) {
  const auto html = render_dnsbl_section(sample());
  EXPECT_NE(html.find("<h2 id=\"dnsbl\">DNSBL</h2>"), std::string::npos);
  EXPECT_NE(html.find("<strong>203.0.113.7</strong> <span class=\"muted\">(configured)</span>"),
            std::string::npos);
  EXPECT_NE(html.find("Discovery (opendns): <span class=\"reason\">timeout</span>"),
            std::string::npos);
  EXPECT_NE(html.find("4 lookups: <strong>2 listed</strong>, 1 failing"), std::string::npos);
  const auto listed = html.find("LISTED (blocking)");
  const auto refused = html.find("resolver_refused");
  const auto clean = html.find(">ok<");
  ASSERT_NE(listed, std::string::npos);
  ASSERT_NE(refused, std::string::npos);
  ASSERT_NE(clean, std::string::npos);
  EXPECT_LT(listed, refused);
  EXPECT_LT(refused, clean);
  EXPECT_NE(html.find("127.0.0.2, 127.0.0.4"), std::string::npos);
  EXPECT_NE(html.find("<a href=\"https://check.spamhaus.org/\">"), std::string::npos);
  // The error row says "unknown", never "ok" or "LISTED".
  const auto row_start = html.rfind("<tr", refused);
  EXPECT_NE(html.find("<td class=\"state\">unknown</td>", row_start), std::string::npos);
}

TEST(dnsbl_page, everything_is_escaped_and_only_web_links_are_links) {
  const auto html = render_dnsbl_section(sample());
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;x&lt;/script&gt;"), std::string::npos);
  EXPECT_EQ(html.find("relay<b>"), std::string::npos);
  EXPECT_NE(html.find("relay&lt;b&gt;"), std::string::npos);
  EXPECT_EQ(html.find("href=\"javascript:"), std::string::npos);
  EXPECT_NE(html.find("javascript:alert(1)"), std::string::npos);  // shown as text
}

TEST(dnsbl_page, rows_are_capped) {
  auto s = sample();
  const auto html = render_dnsbl_section(s, 2);
  EXPECT_NE(html.find("2 more lookups not shown"), std::string::npos);
  EXPECT_EQ(html.find(">ok<"), std::string::npos);  // the clean row is the one cut
}

}  // namespace
}  // namespace smtp_exporter::exporter
