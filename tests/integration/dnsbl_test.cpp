// DNSBL checks end to end: the real smtp_exporter binary asks a scripted DNS server on loopback
// (tests/peers/fake_dns.py) for every zone and for egress discovery; every assertion reads a real
// /metrics scrape or the DNS server's query log. No zone of the default list is ever asked.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include "tests/support/harness.hpp"
#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

using labels = std::map<std::string, std::string>;

struct dns_peer {
  fs::path rules;
  std::unique_ptr<child_process> process;
  std::uint16_t port = 0;
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
  // Queries the server received for exactly `name` and `type`.
  int queries(const std::string& name, const std::string& type = "A") const {
    const std::string log = process->log();
    const std::string line = "QUERY " + name + " " + type + "\n";
    int n = 0;
    for (auto pos = log.find(line); pos != std::string::npos; pos = log.find(line, pos + 1)) ++n;
    return n;
  }
};

dns_peer start_dns(const temp_dir& dir, const std::string& name, const std::string& rules_json) {
  dns_peer p;
  p.rules = dir.write(name + ".json", rules_json);
  p.process = start_fake_dns(dir, p.rules, p.port);
  return p;
}

std::string result(const std::string& text, const std::string& ip, const std::string& zone) {
  return label_value(text, "smtp_dnsbl_lookup_result_info", {{"ip", ip}, {"zone", zone}}, "result")
      .value_or("<absent>");
}

// One egress IP per answer class, all in zone bl.test.
const std::string every_class_rules = R"([
 {"name":"7.113.0.203.bl.test","type":"A","answer":["127.0.0.4","127.0.0.2"],"ttl":300},
 {"name":"7.113.0.203.bl.test","type":"TXT","answer":["Listed: see https://bl.test/q?ip=203.0.113.7"]},
 {"name":"9.113.0.203.bl.test","type":"A","answer":["127.255.255.252"]},
 {"name":"10.113.0.203.bl.test","type":"A","answer":["127.255.255.254"]},
 {"name":"11.113.0.203.bl.test","type":"A","answer":["127.255.255.255"]},
 {"name":"12.113.0.203.bl.test","type":"A","answer":["127.0.0.1"]},
 {"name":"13.113.0.203.bl.test","type":"A","answer":["192.0.2.1"]},
 {"name":"14.113.0.203.bl.test","rcode":"SERVFAIL"},
 {"name":"15.113.0.203.bl.test","drop":true},
 {"name":"16.113.0.203.bl.test","rcode":"REFUSED"},
 {"name":"7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test","type":"A","answer":["127.0.0.10"]},
 {"name":"myip.test","type":"A","answer":["198.51.100.20"]},
 {"name":"*.bl.test","rcode":"NXDOMAIN"}
])";

std::string every_class_config(const dns_peer& dns) {
  return R"([dnsbl]
enabled = true
egress_ips = ["203.0.113.7", "203.0.113.8", "203.0.113.9", "203.0.113.10", "203.0.113.11",
              "203.0.113.12", "203.0.113.13", "203.0.113.14", "203.0.113.15", "203.0.113.16",
              "2001:db8::7"]
servers = [")" + dns.address() + R"("]
interval = "1m"
timeout = "1s"

[dnsbl.discovery]
method = "custom"
name = "myip.test"
server = ")" + dns.address() + R"("

[[dnsbl.zone]]
name = "bl.test"
blocking = true
)";
}

// Egress IP 203.0.113.7 checked in zone bl.test every second, through `dns`.
std::string one_egress_ip_config(const dns_peer& dns) {
  return R"([dnsbl]
enabled = true
egress_ips = ["203.0.113.7"]
servers = [")" + dns.address() + R"("]
interval = "1s"
timeout = "500ms"
[[dnsbl.zone]]
name = "bl.test"
)";
}

// Rewrites the config and reloads it; the reload's answer.
http_reply reload_with(exporter_process& exporter, const std::string& config) {
  exporter.rewrite_config(config);
  return http_request(exporter.port(), "POST", "/-/reload");
}

class dnsbl : public ::testing::Test {
 protected:
  temp_dir dir_;
};

TEST_F(dnsbl, every_answer_class_lands_in_its_documented_result) {
  auto dns = start_dns(dir_, "classes", every_class_rules);
  ASSERT_NE(dns.port, 0) << dns.process->log();
  exporter_process exporter(dir_, every_class_config(dns));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("ip=\"203.0.113.15\",zone=\"bl.test\",result=\"timeout\"") != std::string::npos &&
           t.find("ip=\"198.51.100.20\",zone=\"bl.test\",result=") != std::string::npos;
  });

  const std::map<std::string, std::string> want{
      {"203.0.113.7", "listed"},        {"2001:db8::7", "listed"},
      {"203.0.113.8", "not_listed"},    {"198.51.100.20", "not_listed"},
      {"203.0.113.9", "zone_typo"},     {"203.0.113.10", "resolver_refused"},
      {"203.0.113.11", "rate_limited"}, {"203.0.113.12", "invalid_answer"},
      {"203.0.113.13", "answer_rewritten"}, {"203.0.113.14", "servfail"},
      {"203.0.113.15", "timeout"},      {"203.0.113.16", "refused"},
  };
  for (const auto& [ip, res] : want) {
    EXPECT_EQ(result(text, ip, "bl.test"), res) << ip << "\n" << text;
    const auto listed = metric_value(text, "smtp_dnsbl_listed", {{"ip", ip}, {"zone", "bl.test"}});
    if (res == "listed") {
      EXPECT_EQ(listed, 1) << ip;
    } else if (res == "not_listed") {
      EXPECT_EQ(listed, 0) << ip;
    } else {
      // No error class reads as listed, nor as "not listed".
      EXPECT_FALSE(listed) << ip;
      EXPECT_FALSE(metric_value(text, "smtp_dnsbl_return_code", {{"ip", ip}})) << ip;
      EXPECT_EQ(metric_value(text, "smtp_dnsbl_lookup_errors_total",
                             {{"zone", "bl.test"}, {"reason", res}}),
                1)
          << res;
    }
  }
  // The lowest listing code; the IPv6 address was asked in nibble format.
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_return_code", {{"ip", "203.0.113.7"}}), 2);
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_return_code", {{"ip", "2001:db8::7"}}), 10);
  EXPECT_EQ(dns.queries("7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test"), 1);
  // Egress IPs carry no target label.
  EXPECT_FALSE(label_value(text, "smtp_dnsbl_listed", {{"ip", "203.0.113.7"}}, "target"));
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_zone_blocking", {{"zone", "bl.test"}}), 1);
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_info",
                         {{"ip", "198.51.100.20"}, {"family", "ipv4"}, {"source", "custom"}}),
            1);
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_info",
                         {{"ip", "2001:db8::7"}, {"family", "ipv6"}, {"source", "configured"}}),
            1);
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_discovery_success", {{"method", "custom"}}), 1);
  // The timed-out lookup lasted about the zone's timeout (1s), the others far less.
  EXPECT_GE(metric_value(text, "smtp_dnsbl_lookup_duration_seconds", {{"ip", "203.0.113.15"}})
                .value_or(0),
            0.9);
  // The listing's TXT record is for humans: in the log, never a label.
  EXPECT_EQ(text.find("Listed: see"), std::string::npos);
  EXPECT_NE(exporter.process().log().find("Listed: see https://bl.test/q?ip=203.0.113.7"),
            std::string::npos);
  // ... and on the status page, with the zone.
  const auto page = http_request(exporter.port(), "GET", "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("<h2 id=\"dnsbl\">DNSBL</h2>"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("Listed: see https://bl.test/q?ip=203.0.113.7"), std::string::npos);
  EXPECT_NE(page.body.find("LISTED (blocking)"), std::string::npos);
}

TEST_F(dnsbl, each_zone_asks_its_own_servers) {
  auto first = start_dns(dir_, "first", R"([
    {"name":"7.113.0.203.a.test","type":"A","answer":["127.0.0.2"]},
    {"name":"*.test","rcode":"REFUSED"}])");
  auto second = start_dns(dir_, "second", R"([
    {"name":"7.113.0.203.b.test","type":"A","answer":["127.0.0.3"]},
    {"name":"*.test","rcode":"REFUSED"}])");
  ASSERT_NE(first.port, 0);
  ASSERT_NE(second.port, 0);
  exporter_process exporter(dir_, R"([dnsbl]
enabled = true
egress_ips = ["203.0.113.7"]
servers = [")" + first.address() + R"("]
timeout = "1s"
[[dnsbl.zone]]
name = "a.test"
[[dnsbl.zone]]
name = "b.test"
servers = [")" + second.address() + R"("]
)");
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("zone=\"a.test\",result=") != std::string::npos &&
           t.find("zone=\"b.test\",result=") != std::string::npos;
  });
  EXPECT_EQ(result(text, "203.0.113.7", "a.test"), "listed") << text;
  EXPECT_EQ(result(text, "203.0.113.7", "b.test"), "listed") << text;
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_return_code", {{"zone", "b.test"}}), 3);
  EXPECT_EQ(first.queries("7.113.0.203.b.test"), 0);
  EXPECT_EQ(second.queries("7.113.0.203.a.test"), 0);
}

TEST_F(dnsbl, answers_are_cached_by_ttl_and_shared_between_egress_and_targets) {
  auto dns = start_dns(dir_, "cache", R"([
    {"name":"2.0.0.127.bl.test","type":"A","answer":["127.0.0.2"],"ttl":3600},
    {"name":"*.bl.test","rcode":"NXDOMAIN","ttl":0}])");
  ASSERT_NE(dns.port, 0);
  const auto closed = unused_port();
  // Two targets on the same address (the egress IP too): one lookup per round, not three.
  auto banner_target = [closed](const char* name, const char* host) {
    return std::string("[[target]]\nname = \"") + name + "\"\nhost = \"" + host +
           "\"\nport = " + std::to_string(closed) + "\ntls = \"none\"\nprobes = [\"banner\"]\n";
  };
  exporter_process exporter(dir_, "[defaults]\ninterval = \"1m\"\ntimeout = \"1s\"\n" +
                                      banner_target("relay-a", "127.0.0.2") +
                                      banner_target("relay-b", "127.0.0.2") +
                                      banner_target("relay-c", "127.0.0.3") + R"([dnsbl]
enabled = true
egress_ips = ["127.0.0.2"]
check_targets = true
servers = [")" + dns.address() + R"("]
interval = "1s"
timeout = "500ms"
[[dnsbl.zone]]
name = "bl.test"
)");
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  // 127.0.0.3 is NXDOMAIN, which has no TTL to honour: asked again every interval.
  auto text = exporter.scrape_until([&](const std::string&) {
    return dns.queries("3.0.0.127.bl.test") >= 3;
  });
  EXPECT_GE(dns.queries("3.0.0.127.bl.test"), 3);
  // The listing's TTL (1h) is longer than the interval: asked once.
  EXPECT_EQ(dns.queries("2.0.0.127.bl.test"), 1);
  for (const char* target : {"relay-a", "relay-b"}) {
    EXPECT_EQ(metric_value(text, "smtp_dnsbl_listed",
                           {{"ip", "127.0.0.2"}, {"zone", "bl.test"}, {"target", target}}),
              1)
        << target << "\n" << text;
  }
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_listed",
                         {{"ip", "127.0.0.3"}, {"zone", "bl.test"}, {"target", "relay-c"}}),
            0);
  // The egress series of the same IP, without a target label.
  EXPECT_NE(text.find("smtp_dnsbl_listed{ip=\"127.0.0.2\",zone=\"bl.test\"} 1"), std::string::npos)
      << text;
}

TEST_F(dnsbl, queries_in_flight_are_bounded) {
  // Nobody answers: each lookup holds its slot for the whole 1s timeout. With max_in_flight = 2,
  // six IPs take three waves, so the last lookup ends at least ~2s after the first.
  auto dns = start_dns(dir_, "silent-zone", R"([{"name":"*.bl.test","drop":true}])");
  ASSERT_NE(dns.port, 0);
  exporter_process exporter(dir_, R"([dnsbl]
enabled = true
egress_ips = ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5", "192.0.2.6"]
servers = [")" + dns.address() + R"("]
max_in_flight = 2
timeout = "1s"
[[dnsbl.zone]]
name = "bl.test"
)");
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  // The scheduler hosts the DNSBL runner: its lookups count in smtp_exporter_probes_in_flight
  // (no SMTP target here), up to the bound and never past it.
  double most_in_flight = 0;
  exporter.scrape_until(
      [&](const std::string& t) {
        auto n = metric_value(t, "smtp_exporter_probes_in_flight", {});
        if (n) most_in_flight = std::max(most_in_flight, *n);
        return most_in_flight >= 2;
      },
      5s);
  EXPECT_EQ(most_in_flight, 2.0) << "stalled lookups are not counted as checks in flight";
  auto text = exporter.scrape_until(
      [&](const std::string& t) {
        if (auto n = metric_value(t, "smtp_exporter_probes_in_flight", {})) {
          EXPECT_LE(*n, 2.0);
        }
        return t.find("ip=\"192.0.2.6\",zone=\"bl.test\",result=\"timeout\"") != std::string::npos &&
               t.find("ip=\"192.0.2.1\",zone=\"bl.test\",result=\"timeout\"") != std::string::npos;
      },
      30s);
  double first = 1e18, last = 0;
  for (int i = 1; i <= 6; ++i) {
    const auto ts = metric_value(text, "smtp_dnsbl_last_lookup_timestamp_seconds",
                                 {{"ip", "192.0.2." + std::to_string(i)}});
    ASSERT_TRUE(ts) << i << "\n" << text;
    first = std::min(first, *ts);
    last = std::max(last, *ts);
  }
  EXPECT_GE(last - first, 1.5) << "more than 2 lookups ran at once";
}

TEST_F(dnsbl, egress_discovery_change_is_visible) {
  const std::string rules_before = R"([
    {"name":"myip.test","type":"A","answer":["198.51.100.20"]},
    {"name":"*.bl.test","rcode":"NXDOMAIN"}])";
  auto dns = start_dns(dir_, "discovery", rules_before);
  ASSERT_NE(dns.port, 0);
  exporter_process exporter(dir_, R"([dnsbl]
enabled = true
servers = [")" + dns.address() + R"("]
[dnsbl.discovery]
method = "custom"
name = "myip.test"
server = ")" + dns.address() + R"("
interval = "1s"
timeout = "500ms"
[[dnsbl.zone]]
name = "bl.test"
)");
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("ip=\"198.51.100.20\",zone=\"bl.test\",result=\"not_listed\"") != std::string::npos;
  });
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_last_change_timestamp_seconds", {}), 0) << text;
  replace_file(dns.rules, R"([
    {"name":"myip.test","type":"A","answer":["198.51.100.21"]},
    {"name":"21.100.51.198.bl.test","type":"A","answer":["127.0.0.2"]},
    {"name":"*.bl.test","rcode":"NXDOMAIN"}])");
  text = exporter.scrape_until([](const std::string& t) {
    return t.find("ip=\"198.51.100.21\",zone=\"bl.test\",result=\"listed\"") != std::string::npos;
  });
  EXPECT_EQ(result(text, "198.51.100.21", "bl.test"), "listed") << text;
  EXPECT_GT(metric_value(text, "smtp_egress_ip_last_change_timestamp_seconds", {}).value_or(0), 0);
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_info", {{"ip", "198.51.100.21"}}), 1);
  // The old address is no longer an egress IP and no longer checked.
  EXPECT_FALSE(metric_value(text, "smtp_egress_ip_info", {{"ip", "198.51.100.20"}}));
  EXPECT_EQ(result(text, "198.51.100.20", "bl.test"), "<absent>");
}

// An exporter whose only egress IP comes from `discovery` (a [dnsbl.discovery] body asking
// `dns`); the scrape once zone bl.test has a result.
std::string scrape_with_discovery(const temp_dir& dir, const dns_peer& dns,
                                  const std::string& discovery) {
  exporter_process exporter(dir, "[dnsbl]\nenabled = true\nservers = [\"" + dns.address() +
                                     "\"]\n[dnsbl.discovery]\n" + discovery + "server = \"" +
                                     dns.address() + "\"\n[[dnsbl.zone]]\nname = \"bl.test\"\n");
  EXPECT_TRUE(exporter.started()) << exporter.process().log();
  if (!exporter.started()) return {};
  return exporter.scrape_until([](const std::string& t) {
    return t.find("zone=\"bl.test\",result=") != std::string::npos;
  });
}

TEST_F(dnsbl, discovery_presets_ask_their_names_and_txt_answers_work) {
  // Google's preset, its server overridden to the loopback peer: a TXT query of
  // o-o.myaddr.l.google.com whose answer carries the address (and an ECS string to skip).
  auto dns = start_dns(dir_, "google", R"([
    {"name":"o-o.myaddr.l.google.com","type":"TXT","answer":["edns0-client-subnet 198.51.100.0/24","2001:db8::25"]},
    {"name":"*.bl.test","rcode":"NXDOMAIN"}])");
  ASSERT_NE(dns.port, 0);
  const auto text = scrape_with_discovery(dir_, dns, "method = \"google\"\n");
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_info",
                         {{"ip", "2001:db8::25"}, {"family", "ipv6"}, {"source", "google"}}),
            1)
      << text;
  EXPECT_EQ(result(text, "2001:db8::25", "bl.test"), "not_listed");
  EXPECT_EQ(dns.queries("o-o.myaddr.l.google.com", "TXT"), 1);
}

TEST_F(dnsbl, opendns_over_ipv6_asks_aaaa) {
  auto dns = start_dns(dir_, "opendns6", R"([
    {"name":"myip.opendns.com","type":"AAAA","answer":["2001:db8::99"]},
    {"name":"*.bl.test","rcode":"NXDOMAIN"}])");
  ASSERT_NE(dns.port, 0);
  const auto text = scrape_with_discovery(dir_, dns, "method = \"opendns\"\nip6 = true\n");
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_info",
                         {{"ip", "2001:db8::99"}, {"family", "ipv6"}, {"source", "opendns"}}),
            1)
      << text;
  EXPECT_EQ(dns.queries("myip.opendns.com", "AAAA"), 1);
  EXPECT_EQ(dns.queries("myip.opendns.com", "A"), 0);
  // Nibble format for the discovered IPv6 address.
  EXPECT_EQ(dns.queries("9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.bl.test"), 1);
}

TEST_F(dnsbl, discovery_failure_is_its_own_reason_never_not_listed) {
  auto dns = start_dns(dir_, "silent", R"([{"name":"myip.opendns.com","drop":true}])");
  ASSERT_NE(dns.port, 0);
  exporter_process exporter(dir_, R"([dnsbl]
enabled = true
servers = [")" + dns.address() + R"("]
[dnsbl.discovery]
method = "opendns"
server = ")" + dns.address() + R"("
timeout = "500ms"
[[dnsbl.zone]]
name = "bl.test"
)");
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("smtp_egress_ip_discovery_success{") != std::string::npos;
  });
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_discovery_success", {{"method", "opendns"}}), 0)
      << text;
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_discovery_errors_total",
                         {{"method", "opendns"}, {"reason", "timeout"}}),
            1);
  EXPECT_EQ(dns.queries("myip.opendns.com"), 2);  // one retransmit within the timeout
  EXPECT_EQ(text.find("smtp_dnsbl_listed{"), std::string::npos);
  EXPECT_EQ(text.find("smtp_egress_ip_info{"), std::string::npos);
}

// An error answer carries a TTL too (a rewriting resolver's 1-day answer, Spamhaus' refusal):
// it was kept for that TTL, hiding the zone for a day; an error is asked again within the interval.
TEST_F(dnsbl, an_error_answer_is_not_kept_for_its_ttl) {
  auto dns = start_dns(dir_, "error_ttl", R"([
    {"name":"7.113.0.203.bl.test","type":"A","answer":["192.0.2.1"],"ttl":86400}])");
  ASSERT_NE(dns.port, 0);
  exporter_process exporter(dir_, one_egress_ip_config(dns));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([&](const std::string&) {
    return dns.queries("7.113.0.203.bl.test") >= 3;
  });
  EXPECT_GE(dns.queries("7.113.0.203.bl.test"), 3) << "the error was kept for its 1-day TTL";
  EXPECT_EQ(result(text, "203.0.113.7", "bl.test"), "answer_rewritten") << text;
}

// A reload that keeps the discovery settings keeps the discovery's state: a failure stays on
// /metrics (it used to vanish until the next discovery), and is not asked again before its
// interval.
TEST_F(dnsbl, a_reload_keeps_the_egress_discovery_status) {
  auto dns = start_dns(dir_, "discovery_reload", R"([{"name":"myip.opendns.com","drop":true}])");
  ASSERT_NE(dns.port, 0);
  const std::string head = R"([dnsbl]
enabled = true
servers = [")" + dns.address() + R"("]
[dnsbl.discovery]
method = "opendns"
server = ")" + dns.address() + R"("
interval = "1h"
timeout = "1s"
[[dnsbl.zone]]
name = "a.test"
)";
  exporter_process exporter(dir_, head);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("smtp_egress_ip_discovery_success{") != std::string::npos;
  });
  ASSERT_EQ(metric_value(text, "smtp_egress_ip_discovery_success", {{"method", "opendns"}}), 0)
      << text;
  const int asked = dns.queries("myip.opendns.com");
  const auto reload = reload_with(exporter, head + "[[dnsbl.zone]]\nname = \"b.test\"\n");
  ASSERT_EQ(reload.status, 200) << reload.body;
  text = exporter.scrape();
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_discovery_success", {{"method", "opendns"}}), 0)
      << "the failure vanished with the reload\n" << text;
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_discovery_errors_total",
                         {{"method", "opendns"}, {"reason", "timeout"}}),
            1);
  // A new discovery would time out after 1 s; none is started before the 1 h interval.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(dns.queries("myip.opendns.com"), asked);
  text = exporter.scrape();
  EXPECT_EQ(metric_value(text, "smtp_egress_ip_discovery_success", {{"method", "opendns"}}), 0);
}

TEST_F(dnsbl, a_dqs_key_prefixes_the_zone_and_never_shows) {
  auto dns = start_dns(dir_, "dqs", R"([
    {"name":"7.113.0.203.abcdef0123456789abcdef0123.zen.dq.spamhaus.net","type":"A","answer":["127.0.0.2"]},
    {"name":"*","rcode":"REFUSED"}])");
  ASSERT_NE(dns.port, 0);
  const auto key_file = dir_.write("dqs.key", "abcdef0123456789abcdef0123\n");
  exporter_process exporter(dir_, R"([dnsbl]
enabled = true
egress_ips = ["203.0.113.7"]
[[dnsbl.zone]]
name = "zen.dq.spamhaus.net"
servers = [")" + dns.address() + R"("]
dqs_key_file = ")" + key_file.string() + R"("
)");
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("result=") != std::string::npos && t.find("smtp_dnsbl_listed{") != std::string::npos;
  });
  EXPECT_EQ(result(text, "203.0.113.7", "zen.dq.spamhaus.net"), "listed") << text;
  EXPECT_EQ(text.find("abcdef0123456789"), std::string::npos);
  EXPECT_EQ(exporter.process().log().find("abcdef0123456789"), std::string::npos);
}

// A DQS key path at a device or a FIFO (a typo, a mount gone wrong): read through the bounded
// reader, off the event loop. Before, /dev/zero filled memory without bound and a FIFO without a
// writer froze the loop at start: no /metrics, no readiness.
void expect_key_refused_and_exporter_answers(const temp_dir& dir, const std::string& key_path) {
  auto dns = start_dns(dir, "dqs-bad", R"([{"name":"*.bl.test","rcode":"NXDOMAIN"}])");
  ASSERT_NE(dns.port, 0);
  exporter_process exporter(dir, R"([dnsbl]
enabled = true
egress_ips = ["203.0.113.7"]
servers = [")" + dns.address() + R"("]
[[dnsbl.zone]]
name = "bl.test"
[[dnsbl.zone]]
name = "zen.dq.spamhaus.net"
dqs_key_file = ")" + key_path + R"("
)");
  ASSERT_TRUE(exporter.started()) << key_path << "\n" << exporter.process().log();
  auto text = exporter.scrape_until(
      [](const std::string& t) {
        return t.find("zone=\"zen.dq.spamhaus.net\",result=") != std::string::npos &&
               t.find("zone=\"bl.test\",result=") != std::string::npos;
      },
      10s);
  EXPECT_EQ(result(text, "203.0.113.7", "zen.dq.spamhaus.net"), "dns_error") << text;
  EXPECT_EQ(result(text, "203.0.113.7", "bl.test"), "not_listed") << "other zones go on";
  EXPECT_NE(exporter.process().log().find("not a regular file"), std::string::npos)
      << exporter.process().log();
  for (int i = 0; i < 5; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto reply = http_request(exporter.port(), "GET", "/metrics", 2s);
    EXPECT_EQ(reply.status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 1s) << "/metrics answers promptly";
  }
  EXPECT_EQ(dns.queries("7.113.0.203.zen.dq.spamhaus.net"), 0) << "no query without the key";
  // The key read took no memory to speak of (reading /dev/zero up to a newline takes it all).
  std::ifstream status("/proc/" + std::to_string(exporter.process().pid()) + "/status");
  std::string line;
  long peak_kib = -1;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) peak_kib = std::stol(line.substr(6));
  }
  EXPECT_GT(peak_kib, 0);
  EXPECT_LT(peak_kib, 256 * 1024) << "peak resident memory, KiB";
}

TEST_F(dnsbl, a_dqs_key_file_at_dev_zero_is_refused_and_the_exporter_answers) {
  expect_key_refused_and_exporter_answers(dir_, "/dev/zero");
}

TEST_F(dnsbl, a_dqs_key_file_that_is_a_fifo_is_refused_and_the_exporter_answers) {
  const auto fifo = dir_.path() / "dqs.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  expect_key_refused_and_exporter_answers(dir_, fifo.string());
}

TEST_F(dnsbl, an_error_after_a_listing_neither_clears_it_nor_reads_as_not_listed) {
  auto dns = start_dns(dir_, "flaky", R"([
    {"name":"7.113.0.203.bl.test","type":"A","answer":["127.0.0.2"],"ttl":0},
    {"name":"*.bl.test","rcode":"NXDOMAIN"}])");
  ASSERT_NE(dns.port, 0);
  exporter_process exporter(dir_, one_egress_ip_config(dns));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("result=\"listed\"") != std::string::npos;
  });
  ASSERT_EQ(result(text, "203.0.113.7", "bl.test"), "listed") << text;
  replace_file(dns.rules, R"([{"name":"*.bl.test","rcode":"SERVFAIL"}])");
  text = exporter.scrape_until([](const std::string& t) {
    return t.find("result=\"servfail\"") != std::string::npos;
  });
  EXPECT_EQ(result(text, "203.0.113.7", "bl.test"), "servfail") << text;
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_listed", {{"ip", "203.0.113.7"}}), 1);
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_return_code", {{"ip", "203.0.113.7"}}), 2);
  // Delisted: the next answer clears it.
  replace_file(dns.rules, R"([{"name":"*.bl.test","rcode":"NXDOMAIN"}])");
  text = exporter.scrape_until([](const std::string& t) {
    return t.find("result=\"not_listed\"") != std::string::npos;
  });
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_listed", {{"ip", "203.0.113.7"}}), 0) << text;
  EXPECT_FALSE(metric_value(text, "smtp_dnsbl_return_code", {{"ip", "203.0.113.7"}}));
}

TEST_F(dnsbl, a_reload_keeps_unchanged_zones_answers_and_counters) {
  auto dns = start_dns(dir_, "reload", R"([
    {"name":"7.113.0.203.a.test","type":"A","answer":["127.0.0.2"],"ttl":3600},
    {"name":"7.113.0.203.b.test","type":"A","answer":["127.0.0.3"],"ttl":3600}])");
  ASSERT_NE(dns.port, 0);
  const std::string head = R"([dnsbl]
enabled = true
egress_ips = ["203.0.113.7"]
servers = [")" + dns.address() + R"("]
interval = "1s"
timeout = "500ms"
[[dnsbl.zone]]
name = "a.test"
)";
  exporter_process exporter(dir_, head);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("zone=\"a.test\",result=\"listed\"") != std::string::npos;
  });
  ASSERT_EQ(result(text, "203.0.113.7", "a.test"), "listed") << text;
  auto reload = reload_with(exporter, head + "[[dnsbl.zone]]\nname = \"b.test\"\n");
  EXPECT_EQ(reload.status, 200) << reload.body;
  text = exporter.scrape_until([](const std::string& t) {
    return t.find("zone=\"b.test\",result=\"listed\"") != std::string::npos;
  });
  EXPECT_EQ(result(text, "203.0.113.7", "b.test"), "listed") << text;
  EXPECT_EQ(result(text, "203.0.113.7", "a.test"), "listed");
  EXPECT_EQ(metric_value(text, "smtp_dnsbl_lookups_total", {{"zone", "a.test"}}), 1);
  EXPECT_EQ(dns.queries("7.113.0.203.a.test"), 1);  // its answer (TTL 1h) was kept
  // Off again: no DNSBL series at all.
  std::string off_config = head;
  off_config.replace(off_config.find("enabled = true"), 14, "enabled = false");
  reload = reload_with(exporter, off_config);
  EXPECT_EQ(reload.status, 200) << reload.body;
  text = exporter.scrape();
  EXPECT_EQ(text.find("smtp_dnsbl_"), std::string::npos) << text;
  EXPECT_EQ(text.find("smtp_egress_ip"), std::string::npos);
}

// A reload that shortens a kept zone's interval keeps its answers, but not for the old, longer
// interval: the next lookup comes within the new one.
TEST_F(dnsbl, a_reload_that_shortens_the_interval_asks_again_within_the_new_one) {
  auto dns = start_dns(dir_, "shorten", R"([{"name":"*.a.test","rcode":"NXDOMAIN","ttl":0}])");
  ASSERT_NE(dns.port, 0);
  const auto config = [&](const std::string& interval) {
    return R"([dnsbl]
enabled = true
egress_ips = ["203.0.113.7"]
servers = [")" + dns.address() + R"("]
timeout = "500ms"
[[dnsbl.zone]]
name = "a.test"
interval = ")" + interval + "\"\n";
  };
  exporter_process exporter(dir_, config("1h"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return t.find("zone=\"a.test\",result=\"not_listed\"") != std::string::npos;
  });
  ASSERT_EQ(result(text, "203.0.113.7", "a.test"), "not_listed") << text;
  ASSERT_EQ(dns.queries("7.113.0.203.a.test"), 1);
  auto reload = reload_with(exporter, config("1s"));
  EXPECT_EQ(reload.status, 200) << reload.body;
  exporter.scrape_until([&](const std::string&) { return dns.queries("7.113.0.203.a.test") >= 3; });
  EXPECT_GE(dns.queries("7.113.0.203.a.test"), 3) << "still waiting out the old 1h interval";
}

TEST_F(dnsbl, diagnose_checks_the_egress_ip_last_with_advice) {
  auto dns = start_dns(dir_, "diagnose", every_class_rules);
  ASSERT_NE(dns.port, 0);
  auto config = every_class_config(dns) + "delist_url = \"https://bl.test/remove\"\n" +
                "[[target]]\nname = \"local\"\nhost = \"127.0.0.1\"\nport = " +
                std::to_string(unused_port()) + "\ntls = \"none\"\nprobes = [\"banner\"]\n";
  const auto file = dir_.write("diagnose.toml", config);
  const std::vector<std::string> base{exporter_binary().string(), "diagnose", "--config.file",
                                      file.string(), "local"};
  auto r = run_command(base, dir_.path(), "diagnose-text", 30s);
  ASSERT_TRUE(r.status) << r.err;
  EXPECT_EQ(*r.status, 4) << r.out << r.err;  // the port decides the exit code, not DNSBL
  // After the port, as the last item.
  const auto port_verdict = r.out.find("=> FAILED: connect_refused");
  const auto dnsbl = r.out.find("egress IP on block lists (DNSBL");
  ASSERT_NE(port_verdict, std::string::npos) << r.out;
  ASSERT_NE(dnsbl, std::string::npos) << r.out;
  EXPECT_LT(port_verdict, dnsbl);
  for (const char* want :
       {"ok    discovery", "198.51.100.20 (custom, myip.test)",
        "203.0.113.7 LISTED on bl.test (127.0.0.2, 127.0.0.4, blocking): Listed: see "
        "https://bl.test/q?ip=203.0.113.7",
        "- Request delisting: https://bl.test/remove",
        "- Until then, send through a relay",
        "203.0.113.10 on bl.test: resolver_refused (127.255.255.254): unknown, not a listing",
        "203.0.113.13 on bl.test: answer_rewritten (192.0.2.1): unknown, not a listing",
        "ok    dnsbl       ", "203.0.113.8 not listed on bl.test",
        "DNSBL             egress IP LISTED: 2 listing(s), 2 on lists marked blocking"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
  // No error class reads as listed.
  for (const char* ip : {"203.0.113.9 ", "203.0.113.10 ", "203.0.113.11 ", "203.0.113.12 ",
                         "203.0.113.13 ", "203.0.113.14 ", "203.0.113.15 ", "203.0.113.16 "}) {
    EXPECT_EQ(r.out.find(std::string(ip) + "LISTED"), std::string::npos) << ip;
  }

  auto j = run_command({exporter_binary().string(), "diagnose", "--output", "json",
                        "--config.file", file.string(), "local"},
                       dir_.path(), "diagnose-json", 30s);
  ASSERT_TRUE(j.status) << j.err;
  EXPECT_NE(j.out.find(R"("ip":"203.0.113.7","zone":"bl.test","result":"listed","listed":true,"blocking":true)"),
            std::string::npos)
      << j.out;
  EXPECT_NE(j.out.find(R"("ip":"203.0.113.10","zone":"bl.test","result":"resolver_refused","listed":false)"),
            std::string::npos)
      << j.out;
}

}  // namespace
}  // namespace smtp_test
