// [dnsbl] in config/: good and bad documents, exact error text (FILE:LINE:COL).
#include <gtest/gtest.h>

#include <ostream>
#include <string>
#include <vector>

#include "config/config.hpp"

namespace smtp_exporter::config {
namespace {

using namespace std::chrono_literals;

load_result load(const std::string& text) { return load_string(text, "test.toml"); }

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += s + '\n';
  return out;
}

TEST(config_dnsbl, absent_section_is_off) {
  auto r = load("");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_FALSE(r.config->dnsbl.enabled);
}

TEST(config_dnsbl, default_zone_list_when_none_is_given) {
  auto r = load("[dnsbl]\nenabled = true\n[dnsbl.discovery]\nmethod = \"opendns\"\n");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  const auto& d = r.config->dnsbl;
  EXPECT_TRUE(d.enabled);
  EXPECT_EQ(d.discovery.method, "opendns");
  EXPECT_EQ(d.discovery.interval, 5min);
  ASSERT_EQ(d.zones.size(), default_dnsbl_zones().size());
  std::vector<std::string> names;
  for (const auto& z : d.zones) {
    names.push_back(z.name);
    EXPECT_EQ(z.interval, 15min);  // list operators' etiquette
    EXPECT_EQ(z.timeout, 5s);
    EXPECT_FALSE(z.delist_url.empty()) << z.name;
    EXPECT_TRUE(z.servers.empty());
  }
  EXPECT_EQ(names, (std::vector<std::string>{"zen.spamhaus.org", "bl.spamcop.net",
                                             "b.barracudacentral.org", "bl.mailspike.net",
                                             "psbl.surriel.com"}));
  EXPECT_TRUE(d.zones[0].blocking);
  for (const auto& z : d.zones) EXPECT_EQ(z.name.find("sorbs"), std::string::npos);
}

TEST(config_dnsbl, everything_set) {
  auto r = load(R"([dnsbl]
enabled = true
egress_ips = ["203.0.113.7", "2001:db8::7"]
check_targets = true
max_target_ips = 2
max_in_flight = 4
servers = ["127.0.0.1:5353"]
interval = "10m"
timeout = "3s"

[dnsbl.discovery]
method = "custom"
name = "myip.test"
server = "[::1]:5353"
record = "TXT"
interval = "1m"
timeout = "2s"

[[dnsbl.zone]]
name = "zen.dq.spamhaus.net."
dqs_key_env = "DQS_KEY"
blocking = true
delist_url = "https://check.spamhaus.org/"

[[dnsbl.zone]]
name = "bl.test"
servers = ["127.0.0.2"]
interval = "1s"
timeout = "500ms"
)");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  const auto& d = r.config->dnsbl;
  EXPECT_EQ(d.egress_ips, (std::vector<std::string>{"203.0.113.7", "2001:db8::7"}));
  EXPECT_TRUE(d.check_targets);
  EXPECT_EQ(d.max_target_ips, 2u);
  EXPECT_EQ(d.max_in_flight, 4u);
  EXPECT_EQ(d.discovery.record, "TXT");
  EXPECT_EQ(d.discovery.server, "[::1]:5353");
  ASSERT_EQ(d.zones.size(), 2u);
  EXPECT_EQ(d.zones[0].name, "zen.dq.spamhaus.net");
  EXPECT_EQ(d.zones[0].servers, (std::vector<std::string>{"127.0.0.1:5353"}));  // inherited
  EXPECT_EQ(d.zones[0].interval, 10min);
  EXPECT_EQ(d.zones[0].timeout, 3s);
  EXPECT_EQ(d.zones[0].dqs_key_env, "DQS_KEY");
  EXPECT_TRUE(d.zones[0].blocking);
  EXPECT_EQ(d.zones[1].servers, (std::vector<std::string>{"127.0.0.2"}));
  EXPECT_EQ(d.zones[1].interval, 1s);
  EXPECT_EQ(d.zones[1].timeout, 500ms);
  EXPECT_FALSE(d.zones[1].blocking);
  // A short interval is allowed (tests), with a warning.
  EXPECT_TRUE(r.config->warnings.empty());
}

TEST(config_dnsbl, discovery_preset_over_ipv6) {
  auto r = load("[dnsbl.discovery]\nmethod = \"opendns\"\nip6 = true\n");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_TRUE(r.config->dnsbl.discovery.ip6);
  EXPECT_EQ(r.config->dnsbl.discovery.record, "");
}

TEST(config_dnsbl, short_interval_warns) {
  auto r = load("[dnsbl]\ninterval = \"1m\"\n");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  ASSERT_EQ(r.config->warnings.size(), 1u);
  EXPECT_EQ(r.config->warnings[0],
            "test.toml:2:12: dnsbl.interval: below 5m: list operators ask for no more than a query "
            "per IP every few minutes");
}

struct bad_case {
  std::string name;
  std::string toml;
  std::string errors;
};

void PrintTo(const bad_case& c, std::ostream* os) { *os << c.name; }

class bad_dnsbl : public testing::TestWithParam<bad_case> {};

TEST_P(bad_dnsbl, reports_exact_errors) {
  auto r = load(GetParam().toml);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(joined(r.errors), GetParam().errors);
}

INSTANTIATE_TEST_SUITE_P(
    rows, bad_dnsbl,
    testing::Values(
        bad_case{"unknown_key", "[dnsbl]\nzones = []\n", "test.toml:2:1: dnsbl.zones: unknown key\n"},
        bad_case{"nothing_to_check", "[dnsbl]\nenabled = true\n",
                 "test.toml:1:1: dnsbl: enabled, but nothing to check: set egress_ips, "
                 "[dnsbl.discovery] or check_targets\n"},
        bad_case{"bad_egress_ip", "[dnsbl]\negress_ips = [\"mail.example.com\", \"1.2.3.4:25\", 7]\n",
                 "test.toml:2:15: dnsbl.egress_ips[0]: \"mail.example.com\": must be an IPv4 or "
                 "IPv6 address\n"
                 "test.toml:2:35: dnsbl.egress_ips[1]: \"1.2.3.4:25\": must be an IPv4 or IPv6 "
                 "address\n"
                 "test.toml:2:49: dnsbl.egress_ips[2]: expected string, got integer\n"},
        bad_case{"duplicate_egress_ip", "[dnsbl]\negress_ips = [\"192.0.2.1\", \"192.0.2.1\"]\n",
                 "test.toml:2:28: dnsbl.egress_ips[1]: \"192.0.2.1\" is listed twice\n"},
        bad_case{"server_by_name", "[dnsbl]\nservers = [\"dns.example.com\", \"127.0.0.1:0\"]\n",
                 "test.toml:2:12: dnsbl.servers[0]: \"dns.example.com\": must be an IP address, "
                 "\"IP:port\" or \"[IPv6]:port\" (a DNS server is given by address, not by name)\n"
                 "test.toml:2:31: dnsbl.servers[1]: \"127.0.0.1:0\": must be an IP address, "
                 "\"IP:port\" or \"[IPv6]:port\" (a DNS server is given by address, not by name)\n"},
        bad_case{"timeout_not_below_interval", "[dnsbl]\ninterval = \"10m\"\ntimeout = \"10m\"\n",
                 "test.toml:3:11: dnsbl.timeout: timeout must be shorter than the interval (10m >= "
                 "10m)\n"},
        bad_case{"counts_out_of_range", "[dnsbl]\nmax_in_flight = 0\nmax_target_ips = 17\n",
                 "test.toml:2:17: dnsbl.max_in_flight: must be between 1 and 1024, got 0\n"
                 "test.toml:3:18: dnsbl.max_target_ips: must be between 1 and 16, got 17\n"},
        bad_case{"discovery_method", "[dnsbl.discovery]\nmethod = \"ipify\"\n",
                 "test.toml:2:10: dnsbl.discovery.method: unknown method \"ipify\" (expected "
                 "opendns, google or custom)\n"},
        bad_case{"discovery_custom_needs_name_and_server", "[dnsbl.discovery]\nmethod = \"custom\"\n",
                 "test.toml:1:1: dnsbl.discovery.name: name is required for method \"custom\"\n"
                 "test.toml:1:1: dnsbl.discovery.server: server is required for method "
                 "\"custom\"\n"},
        bad_case{"discovery_ip6_not_for_custom",
                 "[dnsbl.discovery]\nmethod = \"custom\"\nname = \"a.test\"\nserver = "
                 "\"127.0.0.1\"\nip6 = true\n",
                 "test.toml:5:7: dnsbl.discovery.ip6: a \"custom\" method sets record = \"AAAA\" "
                 "instead\n"},
        bad_case{"discovery_record_only_custom",
                 "[dnsbl.discovery]\nmethod = \"google\"\nrecord = \"A\"\n",
                 "test.toml:3:10: dnsbl.discovery.record: only a \"custom\" method takes a record "
                 "type\n"},
        bad_case{"zone_name", "[[dnsbl.zone]]\nname = \"bad zone\"\n[[dnsbl.zone]]\nservers = []\n",
                 "test.toml:2:8: dnsbl.zone[0].name: must be a DNS zone name such as "
                 "\"zen.spamhaus.org\" (letters, digits, '-', '_', '.'; at most 200 bytes)\n"
                 "test.toml:3:1: dnsbl.zone[1].name: name is required\n"},
        bad_case{"duplicate_zone", "[[dnsbl.zone]]\nname = \"bl.test\"\n[[dnsbl.zone]]\nname = \"bl.test\"\n",
                 "test.toml:4:8: dnsbl.zone[1].name: duplicate zone \"bl.test\" (first used on "
                 "line 1)\n"},
        bad_case{"dqs_key_conflict_never_quotes_the_key",
                 "[[dnsbl.zone]]\nname = \"zen.dq.spamhaus.net\"\ndqs_key_file = \"/k\"\n"
                 "dqs_key_env = \"not a name\"\n",
                 "test.toml:4:15: dnsbl.zone[0].dqs_key_env: must be an environment variable name "
                 "such as \"DQS_KEY\"\n"
                 "test.toml:4:15: dnsbl.zone[0].dqs_key_env: conflicts with dqs_key_file; set one "
                 "of them\n"},
        bad_case{"zone_timeout", "[[dnsbl.zone]]\nname = \"bl.test\"\ninterval = \"1s\"\n",
                 "test.toml:1:1: dnsbl.zone[0].timeout: timeout must be shorter than the interval "
                 "(5s >= 1s)\n"}),
    [](const auto& info) { return info.param.name; });

TEST(config_dnsbl, dns_server_addresses) {
  for (const char* good : {"127.0.0.1", "127.0.0.1:53", "::1", "[::1]:5353", "2001:db8::1"})
    EXPECT_EQ(dns_server_problem(good), "") << good;
  for (const char* bad : {"", "localhost", "127.0.0.1:", "127.0.0.1:65536", "[::1]", "::1:53x",
                          "[127.0.0.1]:53"})
    EXPECT_NE(dns_server_problem(bad), "") << bad;
}

// dns_server_problem now splits with common/host_port.hpp; these are the edges of what its own
// scanning accepted before, kept as they were.
TEST(config_dnsbl, dns_server_addresses_at_the_edges) {
  for (const char* good : {"127.0.0.1:1", "127.0.0.1:65535", "127.0.0.1:0053", "127.0.0.1:0000053",
                           "[2001:db8::1]:53", "[::ffff:127.0.0.1]:53", "::ffff:127.0.0.1"})
    EXPECT_EQ(dns_server_problem(good), "") << good;
  for (const char* bad : {"127.0.0.1:0", "127.0.0.1:00000", "127.0.0.1:+53", "127.0.0.1:-53",
                          "127.0.0.1: 53", "127.0.0.1:53 ", "[::1]:", "[::1]:0", "[::1]53",
                          "[::1]]:53", "[::1:53", "[]:53", ":53", "1.2.3.4:53:53", "[1.2.3.4]",
                          "::1]:53", "example.org:53", "[example.org]:53", "127.0.0.1:99999"})
    EXPECT_NE(dns_server_problem(bad), "") << bad;
}

TEST(config_dnsbl, bundled_config_keeps_dnsbl_off) {
  auto r = load_file(std::string(SMTP_SOURCE_DIR) + "/config/smtp_exporter.toml");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_FALSE(r.config->dnsbl.enabled);
}

}  // namespace
}  // namespace smtp_exporter::config
