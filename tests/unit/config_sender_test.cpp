// [sender] in config/: good and bad documents, exact error text (FILE:LINE:COL), and the sender
// domains derived from the targets.
#include <gtest/gtest.h>

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

TEST(config_sender, absent_section_is_off_with_the_documented_defaults) {
  auto r = load("");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  const auto& s = r.config->sender;
  EXPECT_FALSE(s.enabled);
  EXPECT_EQ(s.interval, 1h);
  EXPECT_EQ(s.timeout, 10s);
  EXPECT_TRUE(s.reverse_dns && s.spf && s.dmarc);
}

TEST(config_sender, everything_set) {
  auto r = load(R"([sender]
enabled = true
domains = ["Example.COM.", "mail.example.org"]
egress_ips = ["203.0.113.7", "2001:db8::7"]
servers = ["127.0.0.1:5353"]
helo = "mx.example.com"
reverse_dns = false
interval = "30m"
timeout = "5s"
)");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  const auto& s = r.config->sender;
  EXPECT_TRUE(s.enabled);
  EXPECT_EQ(s.domains, (std::vector<std::string>{"example.com", "mail.example.org"}));
  EXPECT_EQ(s.egress_ips, (std::vector<std::string>{"203.0.113.7", "2001:db8::7"}));
  EXPECT_EQ(s.servers, (std::vector<std::string>{"127.0.0.1:5353"}));
  EXPECT_EQ(s.helo, "mx.example.com");
  EXPECT_FALSE(s.reverse_dns);
  EXPECT_EQ(s.interval, 30min);
  EXPECT_EQ(s.timeout, 5s);
}

TEST(config_sender, bad_values_have_exact_errors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[sender]\nlists = true\n", "test.toml:2:1: sender.lists: unknown key"},
      {"[sender]\ndomains = [\"localhost\"]\n",
       "test.toml:2:12: sender.domains[0]: \"localhost\": must have at least two labels"},
      {"[sender]\ndomains = [\"a..b\"]\n",
       "test.toml:2:12: sender.domains[0]: \"a..b\": must be a domain name such as "
       "\"example.com\" (no empty label, no trailing dot)"},
      {"[sender]\ndomains = [\"a.b\", \"A.B\"]\n",
       "test.toml:2:19: sender.domains[1]: \"a.b\" is listed twice"},
      {"[sender]\negress_ips = [\"mail.example.com\"]\n",
       "test.toml:2:15: sender.egress_ips[0]: \"mail.example.com\": must be an IPv4 or IPv6 "
       "address"},
      {"[sender]\nservers = [\"dns.example\"]\n",
       "test.toml:2:12: sender.servers[0]: \"dns.example\": must be an IP address, \"IP:port\" or "
       "\"[IPv6]:port\" (a DNS server is given by address, not by name)"},
      {"[sender]\ninterval = \"10m\"\ntimeout = \"10m\"\n",
       "test.toml:3:11: sender.timeout: timeout must be shorter than the interval (10m >= 10m)"},
      {"[sender]\nenabled = true\nreverse_dns = false\nspf = false\ndmarc = false\n",
       "test.toml:1:1: sender: enabled, but nothing to check: reverse_dns, spf and dmarc are all "
       "false"},
  };
  for (const auto& [text, want] : cases) {
    auto r = load(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(joined(r.errors), want + "\n") << text;
  }
}

TEST(config_sender, short_interval_is_a_warning) {
  auto r = load("[sender]\ninterval = \"1m\"\ntimeout = \"5s\"\n");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  ASSERT_EQ(r.config->warnings.size(), 1u);
  EXPECT_NE(r.config->warnings[0].find("sender.interval: below 5m"), std::string::npos)
      << r.config->warnings[0];
}

TEST(config_sender, domains_default_to_the_targets_addresses) {
  auto r = load(R"([[target]]
name = "a"
host = "smtp.example.net"
port = 587
probes = ["banner", "envelope"]
[target.envelope]
mail_from = "app@Billing.Example.com"
rcpt_to = "x@example.net"
[[target]]
name = "b"
host = "smtp.example.net"
port = 587
probes = ["banner", "auth"]
[target.auth]
username = "apikey"
password_env = "X"
[[target]]
name = "c"
host = "smtp.example.net"
port = 587
probes = ["banner", "auth"]
[target.auth]
username = "me@example.org"
password_env = "X"
)");
  ASSERT_TRUE(r.ok()) << joined(r.errors);
  EXPECT_EQ(sender_domains(r.config->sender, r.config->targets),
            (std::vector<std::string>{"billing.example.com", "example.org"}))
      << "an address-shaped username counts; \"apikey\" does not";
  sender_settings configured;
  configured.domains = {"only.example"};
  EXPECT_EQ(sender_domains(configured, r.config->targets),
            (std::vector<std::string>{"only.example"}));
}

}  // namespace
}  // namespace smtp_exporter::config
