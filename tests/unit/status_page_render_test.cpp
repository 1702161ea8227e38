// The status and debug pages as pure functions over status records: escaping, order, the row cap.
#include "exporter/views/status_page.hpp"

#include <chrono>

#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

using probes::failure_reason;

constexpr double now = 1'750'000'000;

std::shared_ptr<const config::target> target(const std::string& name, std::uint16_t port = 587) {
  auto t = std::make_shared<config::target>();
  t->name = name;
  t->host = "mx.test";
  t->port = port;
  t->probes = {true, true, false};
  return t;
}

target_status with_result(std::shared_ptr<const config::target> config, failure_reason reason,
                          int code = 0) {
  target_status s;
  s.config = std::move(config);
  probes::session_result r;
  for (auto* outcome : {&r.probes[0], &r.probes[1]}) {
    outcome->ran = true;
    outcome->reason = reason;
    outcome->reply_code = code;
  }
  r.total_seconds = 0.25;
  r.greeting = "mx.test ESMTP ready";
  r.detail = reason == failure_reason::none ? "" : "connect: Connection refused";
  r.transcript = {"* resolved mx.test to 127.0.0.1", "S: 220 mx.test ESMTP ready"};
  s.record(r, now - 5);
  return s;
}

target_status pending(std::shared_ptr<const config::target> config) {
  target_status s;
  s.config = std::move(config);
  return s;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(status_page, provider_credentials_say_what_the_sheet_said_and_what_works_now) {
  // Two outlook targets, one still on a password; gmail on an app password; no preset; unknown.
  const auto html = render_provider_credentials_section(
      {{"outlook", true}, {"outlook", false}, {"gmail", true}, {"", true}, {"nope", true}});
  EXPECT_NE(html.find("your Outlook.com password"), std::string::npos) << html;
  EXPECT_NE(html.find("OAuth 2.0 only (since September 2024)"), std::string::npos) << html;
  EXPECT_NE(html.find("1 target(s) still use a password"), std::string::npos) << html;
  EXPECT_NE(html.find("<td>gmail</td>"), std::string::npos) << html;
  EXPECT_EQ(html.find("nope"), std::string::npos) << html;
  // Gmail still takes an app password: no warning on its row.
  const auto gmail_row = html.substr(html.find("<td>gmail</td>"));
  EXPECT_EQ(gmail_row.substr(0, gmail_row.find("</tr>")).find("still use a password"),
            std::string::npos);
  EXPECT_EQ(render_provider_credentials_section({{"", true}}), "");
}

TEST(status_page, debug_page_shows_the_delivery_read_back) {
  target_status t;
  auto c = std::make_shared<config::target>();
  c->name = "app";
  c->host = "smtp.example.com";
  c->port = 587;
  t.config = c;
  auto d = std::make_shared<delivery_facts>();
  d->messages_sent = 3;
  d->folder = "junk";
  d->latency_seconds = 4.5;
  d->auth_results = {{"spf", "fail"}, {"dmarc", "<fail>"}};
  d->detail = "delivered to the Junk mailbox Junk";
  t.delivery = d;
  const auto page = render_debug_page(t, 0);
  EXPECT_NE(page.find("3 message(s) sent; the last found in <strong>junk</strong> after 4.5"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("spf=fail dmarc=&lt;fail&gt;"), std::string::npos) << page;  // escaped
  t.delivery.reset();
  EXPECT_EQ(render_debug_page(t, 0).find("message(s) sent"), std::string::npos);
}

TEST(status_page, escapes_names_and_server_text) {
  auto evil = target("<script>alert(1)</script>");
  auto s = with_result(evil, failure_reason::banner_rejected, 554);
  s.greeting = "<script>alert('greeting')</script>";
  s.detail = "greeting: 554 <script>x</script>";
  auto page = render_status_page({s}, {"/metrics", 1000, now});
  EXPECT_FALSE(contains(page, "<script>")) << page;
  EXPECT_TRUE(contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;"));
  EXPECT_TRUE(contains(page, "greeting: 554 &lt;script&gt;x&lt;/script&gt;"));
  EXPECT_TRUE(contains(page, "href=\"/probe/debug?target=%3Cscript%3Ealert%281%29%3C%2Fscript%3E\""));

  auto debug = render_debug_page(s, now);
  EXPECT_FALSE(contains(debug, "<script>")) << debug;
  EXPECT_TRUE(contains(debug, "&lt;script&gt;alert(&#39;greeting&#39;)&lt;/script&gt;"));
}

TEST(status_page, failing_rows_first_and_marked) {
  auto page = render_status_page(
      {with_result(target("a-ok"), failure_reason::none),
       with_result(target("b-refused"), failure_reason::connect_refused),
       pending(target("c-pending"))},
      {"/metrics", 1000, now});
  auto failing = page.find("<tr class=\"failing\">");
  auto ok = page.find("<tr class=\"ok\">");
  auto pending = page.find("<tr class=\"pending\">");
  ASSERT_NE(failing, std::string::npos) << page;
  ASSERT_NE(ok, std::string::npos);
  ASSERT_NE(pending, std::string::npos);
  EXPECT_LT(failing, ok);
  EXPECT_TRUE(contains(page, "3 targets: <strong>1 failing</strong>, 1 ok, 1 pending"));
  EXPECT_TRUE(contains(page, ">connect_refused</span>"));
  EXPECT_TRUE(contains(page, "<meta http-equiv=\"refresh\" content=\"30\">"));
  EXPECT_TRUE(contains(page, "href=\"/metrics\""));
  EXPECT_FALSE(contains(page, "http://"));  // no external asset
  EXPECT_FALSE(contains(page, "https://"));
}

// The probe columns come from the stage table: the envelope stage has one without an edit here.
TEST(status_page, one_column_per_stage) {
  auto page = render_status_page({with_result(target("a-ok"), failure_reason::none)},
                                 {"/metrics", 1000, now});
  auto header = page.substr(page.find("<thead>"), page.find("</thead>") - page.find("<thead>"));
  std::size_t last = 0;
  for (const char* probe : {">banner</th>", ">tls</th>", ">auth</th>", ">envelope</th>"}) {
    auto at = header.find(probe);
    ASSERT_NE(at, std::string::npos) << probe << "\n" << header;
    EXPECT_GT(at, last) << "in session order";
    last = at;
  }
}

TEST(status_page, certificate_days_left) {
  auto s = with_result(target("tls"), failure_reason::none);
  s.tls_seen = true;
  probes::tls_facts facts;
  facts.chain = {{0, "mx.test", "intermediate", now - 86400, now + 40 * 86400 + 10},
                 {1, "intermediate", "root", now - 86400, now + 10 * 86400 + 10}};
  s.tls = std::make_shared<const probes::tls_facts>(facts);
  auto page = render_status_page({s}, {"/metrics", 1000, now});
  EXPECT_TRUE(contains(page, ">40 d (chain <span class=\"warn\">10 d</span>)</td>")) << page;
  auto debug = render_debug_page(s, now);
  EXPECT_TRUE(contains(debug, "40 days left"));
}

TEST(status_page, ten_thousand_targets_are_capped_failing_first) {
  std::vector<target_status> all;
  for (int i = 0; i < 10000; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "t%05d", i);
    all.push_back(with_result(target(name), i % 100 == 99 ? failure_reason::connect_timeout
                                                          : failure_reason::none));
  }
  auto start = std::chrono::steady_clock::now();
  auto page = render_status_page(std::move(all), {"/metrics", 1000, now});
  auto elapsed = std::chrono::steady_clock::now() - start;
  std::size_t rows = 0;
  for (auto at = page.find("<tr class="); at != std::string::npos; at = page.find("<tr class=", at + 1))
    ++rows;
  EXPECT_EQ(rows, 1000u);
  EXPECT_TRUE(contains(page, "9000 more targets not shown (0 of them failing)")) << page.substr(0, 2000);
  EXPECT_TRUE(contains(page, "10000 targets: <strong>100 failing</strong>"));
  // All 100 failing targets made it into the table, ahead of the healthy ones.
  EXPECT_TRUE(contains(page, ">t09999</a>"));
  EXPECT_LT(page.find(">t09999</a>"), page.find(">t00000</a>"));
  EXPECT_LT(page.size(), 1'500'000u);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(status_page, debug_page_shows_transcript_and_advice) {
  auto t = target("relay", 465);
  auto s = with_result(t, failure_reason::connect_timeout);
  auto page = render_debug_page(s, now);
  EXPECT_TRUE(contains(page, "<pre>* resolved mx.test to 127.0.0.1\nS: 220 mx.test ESMTP ready\n</pre>"));
  EXPECT_TRUE(contains(page, "What to do about connect_timeout"));
  EXPECT_TRUE(contains(page, "security group"));
}

// Issue 24: a target with ip_protocol = "both" shows a row per family, each linking its own
// debug page, which names the family.
TEST(status_page, both_families_have_a_row_and_a_debug_page_each) {
  auto v4 = std::make_shared<config::target>(*target("dual"));
  v4->ip_protocol = "ip4";
  v4->family = config::ip_family::ipv4;
  auto v6 = std::make_shared<config::target>(*v4);
  v6->ip_protocol = "ip6";
  v6->family = config::ip_family::ipv6;
  auto page = render_status_page({with_result(v4, failure_reason::none),
                                  with_result(v6, failure_reason::connect_prohibited)},
                                 {"/metrics", 1000, now});
  EXPECT_TRUE(contains(page, "href=\"/probe/debug?target=dual&amp;ip_family=ipv4\"")) << page;
  EXPECT_TRUE(contains(page, "href=\"/probe/debug?target=dual&amp;ip_family=ipv6\""));
  EXPECT_TRUE(contains(page, "dual</a> <span class=\"family\">ipv6</span>"));
  EXPECT_TRUE(contains(page, ">connect_prohibited</span>"));
  auto debug = render_debug_page(with_result(v6, failure_reason::connect_prohibited), now);
  EXPECT_TRUE(contains(debug, "<h1>dual (ipv6)</h1>")) << debug;
  // A target without "both": no family anywhere.
  auto plain = render_status_page({with_result(target("plain"), failure_reason::none)},
                                  {"/metrics", 1000, now});
  EXPECT_FALSE(contains(plain, "ip_family")) << plain;
  EXPECT_FALSE(contains(plain, "class=\"family\""));
}

TEST(query, parameter_is_url_decoded) {
  EXPECT_EQ(query_parameter("target=a%20b", "target"), "a b");
  EXPECT_EQ(query_parameter("x=1&target=a+b&target=c", "target"), "a b");
  EXPECT_EQ(query_parameter("target=%3Cscript%3E", "target"), "<script>");
  EXPECT_EQ(query_parameter("target=100%", "target"), "100%");
  EXPECT_EQ(query_parameter("target=", "target"), "");
  EXPECT_EQ(query_parameter("other=1", "target"), std::nullopt);
  EXPECT_EQ(query_parameter("", "target"), std::nullopt);
  EXPECT_EQ(url_encode("a b/<é>"), "a%20b%2F%3C%C3%A9%3E");
  EXPECT_EQ(query_parameter("target=" + url_encode("a b/<é>&x"), "target"), "a b/<é>&x");
}

}  // namespace
}  // namespace smtp_exporter::exporter
