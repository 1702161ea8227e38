// The /probe allow-list (config/allow_list.hpp) and the [module.NAME] tables that carry it.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/allow_list.hpp"
#include "config/config.hpp"

namespace smtp_exporter::config {
namespace {

struct host_case {
  const char* pattern;
  const char* host;
  bool matches;
};

TEST(allow_list_hosts, glob_patterns_match_one_label_per_star) {
  const host_case cases[] = {
      {"smtp.example.com", "smtp.example.com", true},
      {"smtp.example.com", "SMTP.Example.COM", true},
      {"SMTP.example.com", "smtp.example.com", true},
      {"smtp.example.com", "smtp.example.com.evil.net", false},
      {"smtp.example.com", "xsmtp.example.com", false},
      {"*.example.com", "smtp.example.com", true},
      {"*.example.com", "example.com", false},
      {"*.example.com", "a.b.example.com", false},
      {"*.example.com", "smtp.example.org", false},
      {"*.*.example.com", "a.b.example.com", true},
      {"smtp-*.example.com", "smtp-eu1.example.com", true},
      {"smtp-*.example.com", "smtp-.example.com", false},
      {"smtp-*.example.com", "mx-eu1.example.com", false},
      {"*-relay.example.com", "eu-relay.example.com", true},
      {"smtp.*", "smtp.com", true},
      {"smtp.*", "smtp.evil.com", false},
      {"*", "localhost", true},
      {"*", "smtp.example.com", false},
      {"localhost", "localhost", true},
      {"127.0.0.1", "127.0.0.1", true},
      {"127.0.0.1", "127.0.0.2", false},
      {"::1", "::1", true},
      {"::1", "0:0::1", true},
      {"::1", "::2", false},
      // An IP literal is matched as an address, never by a wildcard pattern.
      {"*", "127.0.0.1", false},
      {"*.0.0.1", "127.0.0.1", false},
      {"localhost", "127.0.0.1", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(host_matches(c.pattern, c.host), c.matches) << c.pattern << " vs " << c.host;
  }
}

TEST(allow_list_hosts, bad_patterns_are_refused_with_the_reason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "must not be empty"},
      {"smtp..example.com", "has an empty label (\"..\", or a leading or trailing dot)"},
      {".example.com", "has an empty label (\"..\", or a leading or trailing dot)"},
      {"**.example.com", "has more than one \"*\" in a label"},
      {"smtp example.com", "may hold only letters, digits, \"-\", \"_\", \".\" and \"*\""},
      {"smtp/25", "may hold only letters, digits, \"-\", \"_\", \".\" and \"*\""},
      {"10.0.0.*", "is an address with a wildcard; list address ranges in allowed_cidrs"},
      {"fe80::1%eth0", "is not a valid IPv6 address"},
  };
  for (const auto& [pattern, problem] : cases) {
    auto found = host_pattern_problem(pattern);
    ASSERT_TRUE(found.has_value()) << pattern;
    EXPECT_EQ(*found, problem) << pattern;
  }
  for (const char* good : {"smtp.example.com", "*.example.com", "localhost", "127.0.0.1", "::1",
                           "smtp_1.example.com"}) {
    EXPECT_FALSE(host_pattern_problem(good).has_value()) << good;
  }
}

TEST(allow_list_hosts, requested_hosts_are_normalized_or_refused) {
  const std::pair<const char*, const char*> good[] = {
      {"SMTP.Example.com", "smtp.example.com"},
      {"smtp.example.com.", "smtp.example.com"},
      {"127.0.0.1", "127.0.0.1"},
      {"::1", "::1"},
      {"localhost", "localhost"},
  };
  for (const auto& [in, out] : good) {
    std::string error;
    auto normalized = normalize_host(in, error);
    ASSERT_TRUE(normalized.has_value()) << in << ": " << error;
    EXPECT_EQ(*normalized, out);
  }
  const std::vector<std::string> bad_hosts = {"",
                                              ".",
                                              "a..b",
                                              "smtp example.com",
                                              "smtp.example.com/x",
                                              "a@b",
                                              "fe80::1%eth0",
                                              "[::1]",
                                              "x\n",
                                              std::string(64, 'a')};
  for (const std::string& bad : bad_hosts) {
    std::string error;
    EXPECT_FALSE(normalize_host(bad, error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

struct cidr_case {
  const char* block;
  const char* address;
  bool inside;
};

TEST(allow_list_cidrs, blocks_contain_the_addresses_they_cover) {
  const cidr_case cases[] = {
      {"127.0.0.0/8", "127.0.0.1", true},
      {"127.0.0.0/8", "127.255.255.255", true},
      {"127.0.0.0/8", "128.0.0.1", false},
      {"10.1.2.0/23", "10.1.3.7", true},
      {"10.1.2.0/23", "10.1.4.0", false},
      {"192.0.2.7", "192.0.2.7", true},
      {"192.0.2.7", "192.0.2.8", false},
      {"0.0.0.0/0", "203.0.113.9", true},
      {"0.0.0.0/0", "::1", false},
      {"::1/128", "::1", true},
      {"::1", "::2", false},
      {"fd00::/8", "fd12:3456::1", true},
      {"fd00::/8", "fe80::1", false},
      {"2001:db8::/33", "2001:db8:7fff::1", true},
      {"2001:db8::/33", "2001:db8:8000::1", false},
      {"::/0", "2001:db8::1", true},
      {"::/0", "127.0.0.1", false},
      // A v4-mapped IPv6 address is its IPv4 address: an IPv4 block decides it.
      {"127.0.0.0/8", "::ffff:127.0.0.1", true},
      {"10.0.0.0/8", "::ffff:127.0.0.1", false},
  };
  for (const auto& c : cases) {
    std::string error;
    auto block = parse_cidr(c.block, error);
    ASSERT_TRUE(block.has_value()) << c.block << ": " << error;
    auto address = parse_ip_address(c.address);
    ASSERT_TRUE(address.has_value()) << c.address;
    EXPECT_EQ(contains(*block, *address), c.inside) << c.block << " vs " << c.address;
  }
}

TEST(allow_list_cidrs, bad_blocks_are_refused_with_the_reason) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "not an IPv4 or IPv6 address block (want e.g. \"10.0.0.0/8\" or \"fd00::/8\")"},
      {"localhost/8",
       "not an IPv4 or IPv6 address block (want e.g. \"10.0.0.0/8\" or \"fd00::/8\")"},
      {"10.0.0.0/33", "prefix length must be a number from 0 to 32"},
      {"10.0.0.0/", "prefix length must be a number from 0 to 32"},
      {"10.0.0.0/-1", "prefix length must be a number from 0 to 32"},
      {"fd00::/129", "prefix length must be a number from 0 to 128"},
      {"10.0.0.1/8", "host bits are set; the block is probably a typo (did you mean 10.0.0.0/8?)"},
      {"fd00::1/8", "host bits are set; the block is probably a typo (did you mean fd00::/8?)"},
      {"::ffff:10.0.0.0/104",
       "not an IPv4 or IPv6 address block (want e.g. \"10.0.0.0/8\" or \"fd00::/8\")"},
  };
  for (const auto& [text, problem] : cases) {
    std::string error;
    EXPECT_FALSE(parse_cidr(text, error).has_value()) << text;
    EXPECT_EQ(error, problem) << text;
  }
}

TEST(allow_list_ports, single_ports_and_ranges) {
  std::string error;
  allow_list list;
  for (const char* text : {"25", "587", "2500-2599"}) {
    auto range = parse_port_range(text, error);
    ASSERT_TRUE(range.has_value()) << text << ": " << error;
    list.ports.push_back(*range);
  }
  const std::pair<std::uint16_t, bool> cases[] = {
      {25, true},  {587, true},  {2500, true},  {2550, true},  {2599, true}, {24, false},
      {26, false}, {465, false}, {2499, false}, {2600, false}, {0, false},
  };
  for (const auto& [port, allowed] : cases) EXPECT_EQ(list.allows_port(port), allowed) << port;
  EXPECT_EQ(describe_ports(list.ports), "25, 587, 2500-2599");
  EXPECT_FALSE(allow_list{}.allows_port(25)) << "no ports listed: nothing is allowed";

  for (const char* bad : {"", "0", "65536", "25-", "-25", "x", "30-20", "25 "}) {
    error.clear();
    EXPECT_FALSE(parse_port_range(bad, error).has_value()) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
}

TEST(allow_list, an_empty_list_allows_nothing) {
  allow_list empty;
  EXPECT_FALSE(empty.allows_host_name("localhost"));
  EXPECT_FALSE(empty.allows_address(*parse_ip_address("127.0.0.1")));
  EXPECT_FALSE(empty.allows_port(25));
}

// ---------------------------------------------------------------------------------------------
// [module.NAME] tables

TEST(config_modules, a_module_is_a_target_template_with_an_allow_list) {
  auto loaded = load_string(R"(
[defaults]
timeout = "7s"

[module.gmail_submission]
provider = "gmail"
probes = ["banner", "tls"]
allowed_hosts = ["smtp.gmail.com", "*.Example.com"]
allowed_cidrs = ["127.0.0.0/8", "::1/128"]
allowed_ports = [587, "2500-2599"]
max_concurrent = 3

[module.plain]
tls = "none"
probes = ["banner"]
timeout = "2s"
ehlo_name = "probe.example"
ip_protocol = "ip4"
allowed_hosts = ["localhost"]
allowed_ports = [25]
)",
                            "t.toml");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front());
  const auto& modules = loaded.config->modules;
  ASSERT_EQ(modules.size(), 2u);
  const auto& gmail = modules[0];
  EXPECT_EQ(gmail.name, "gmail_submission");
  EXPECT_EQ(gmail.settings.provider, "gmail");
  EXPECT_EQ(gmail.settings.host, "") << "the request supplies host and port";
  EXPECT_EQ(gmail.settings.port, 0);
  EXPECT_FALSE(gmail.tls_explicit);
  EXPECT_TRUE(gmail.settings.has(probe::tls));
  EXPECT_FALSE(gmail.settings.has(probe::auth));
  EXPECT_EQ(gmail.settings.timeout, std::chrono::seconds(7)) << "[defaults] apply to modules";
  EXPECT_EQ(gmail.allowed.hosts, (std::vector<std::string>{"smtp.gmail.com", "*.example.com"}));
  EXPECT_EQ(gmail.allowed.cidrs.size(), 2u);
  EXPECT_EQ(describe_ports(gmail.allowed.ports), "587, 2500-2599");
  EXPECT_EQ(gmail.max_concurrent, 3u);
  const auto& plain = modules[1];
  EXPECT_TRUE(plain.tls_explicit);
  EXPECT_EQ(plain.settings.tls, tls_mode::none);
  EXPECT_EQ(plain.settings.timeout, std::chrono::seconds(2));
  EXPECT_EQ(plain.settings.ehlo_name, "probe.example");
  EXPECT_EQ(plain.settings.ip_protocol, "ip4");
  EXPECT_EQ(plain.max_concurrent, 8u) << "the default cap";
  EXPECT_TRUE(loaded.config->targets.empty());
  EXPECT_TRUE(loaded.config->warnings.empty());
}

TEST(config_modules, a_request_turns_the_module_into_a_target_for_that_host_and_port) {
  auto loaded = load_string(R"(
[module.gmail]
provider = "gmail"
allowed_hosts = ["smtp.gmail.com"]
allowed_ports = [465, 587, 2525]

[module.forced]
tls = "implicit"
allowed_hosts = ["localhost"]
allowed_ports = [587]

[module.plain]
allowed_cidrs = ["::1/128"]
allowed_ports = [25, 465]
)",
                            "t.toml");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front());
  const auto& m = loaded.config->modules;  // by name: forced, gmail, plain
  ASSERT_EQ(m.size(), 3u);
  struct request_case {
    const probe_module& module;
    const char* host;
    std::uint16_t port;
    const char* name;
    tls_mode tls;
  };
  const request_case cases[] = {
      {m[1], "smtp.gmail.com", 465, "smtp.gmail.com:465", tls_mode::implicit},
      {m[1], "smtp.gmail.com", 587, "smtp.gmail.com:587", tls_mode::starttls},
      {m[1], "smtp.gmail.com", 2525, "smtp.gmail.com:2525", tls_mode::starttls},
      {m[0], "localhost", 587, "localhost:587", tls_mode::implicit},
      {m[2], "::1", 465, "[::1]:465", tls_mode::implicit},
      {m[2], "::1", 25, "[::1]:25", tls_mode::starttls},
  };
  for (const auto& c : cases) {
    const target t = module_target(c.module, c.host, c.port);
    EXPECT_EQ(t.name, c.name);
    EXPECT_EQ(t.host, c.host);
    EXPECT_EQ(t.port, c.port);
    EXPECT_EQ(t.tls, c.tls) << c.name;
    EXPECT_TRUE(t.labels.empty());
    EXPECT_EQ(t.provider, c.module.settings.provider);
    EXPECT_EQ(t.probes, c.module.settings.probes);
  }
}

TEST(config_modules, modules_take_auth_and_the_envelope_like_targets) {
  auto loaded = load_string(R"(
[module.relay]
probes = ["banner", "tls", "auth", "envelope"]
allowed_hosts = ["relay.example.com"]
allowed_ports = [587]

[module.relay.auth]
username = "monitor@example.com"
password_env = "SMTP_PASSWORD"

[module.relay.envelope]
rcpt_to = "postmaster@example.com"
)",
                            "t.toml");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front());
  const auto& relay = loaded.config->modules.at(0).settings;
  ASSERT_TRUE(relay.auth.has_value());
  EXPECT_EQ(relay.auth->password_env, "SMTP_PASSWORD");
  ASSERT_TRUE(relay.envelope.has_value());
  EXPECT_EQ(relay.envelope->mail_from, "monitor@example.com") << "from the auth username";
  EXPECT_EQ(relay.envelope->rcpt_to, "postmaster@example.com");

  // The envelope's own interval is a scheduling key: not a module's.
  auto bad = load_string("[module.m]\nenvelope_interval = \"30m\"\n", "t.toml");
  EXPECT_EQ(bad.errors,
            std::vector<std::string>{"t.toml:2:1: module.m.envelope_interval: unknown key"});
}

TEST(config_modules, a_module_that_allows_nothing_loads_with_a_warning) {
  auto loaded = load_string("[module.open]\nprobes = [\"banner\"]\n", "t.toml");
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded.config->warnings.size(), 1u);
  EXPECT_EQ(loaded.config->warnings[0],
            "t.toml:1:1: module.open: module allows no target: /probe needs allowed_hosts or "
            "allowed_cidrs, and allowed_ports");
}

struct bad_module {
  const char* toml;
  std::vector<std::string> errors;
};

TEST(config_modules, bad_modules_report_exact_errors) {
  const bad_module cases[] = {
      {"[module.m]\nhost = \"smtp.example.com\"\nport = 25\n",
       {"t.toml:2:1: module.m.host: unknown key", "t.toml:3:1: module.m.port: unknown key"}},
      {"[module.m]\ninterval = \"1m\"\nlabels = { team = \"x\" }\n",
       {"t.toml:2:1: module.m.interval: unknown key", "t.toml:3:1: module.m.labels: unknown key"}},
      {"[module.m]\nallowed_hosts = \"localhost\"\n",
       {"t.toml:2:17: module.m.allowed_hosts: expected array"}},
      {"[module.m]\nallowed_hosts = [\"10.0.0.*\", 5]\n",
       {"t.toml:2:18: module.m.allowed_hosts[0]: host pattern is an address with a wildcard; "
        "list address ranges in allowed_cidrs",
        "t.toml:2:30: module.m.allowed_hosts[1]: expected string"}},
      {"[module.m]\nallowed_cidrs = [\"10.0.0.1/8\"]\n",
       {"t.toml:2:18: module.m.allowed_cidrs[0]: host bits are set; the block is probably a typo "
        "(did you mean 10.0.0.0/8?)"}},
      {"[module.m]\nallowed_ports = [0, \"30-20\", true]\n",
       {"t.toml:2:18: module.m.allowed_ports[0]: port must be between 1 and 65535, got 0",
        "t.toml:2:21: module.m.allowed_ports[1]: range ends before it starts",
        "t.toml:2:30: module.m.allowed_ports[2]: expected a port number or a range string such "
        "as \"2500-2599\""}},
      {"[module.m]\nmax_concurrent = 0\n",
       {"t.toml:2:18: module.m.max_concurrent: must be an integer from 1 to 1000"}},
      {"[module.m]\nprobes = [\"banner\", \"auth\"]\n",
       {"t.toml:1:1: module.m.auth: auth is required when probes include \"auth\""}},
      {"[module.m]\ntls = \"none\"\nprobes = [\"tls\"]\n",
       {"t.toml:2:7: module.m.tls: \"none\" cannot run the \"tls\" probe; remove it from probes"}},
      {"[module.m]\nprovider = \"nope\"\n",
       {"t.toml:2:12: module.m.provider: unknown provider \"nope\" (expected qq, 163, "
        "aliyun, sendgrid, gmail, outlook, hotmail, yahoo, icloud, zoho or office365)"}},
      {"[module.\"a b\"]\n",
       {"t.toml:1:9: module.\"a b\": module names may hold only letters, "
        "digits, \"_\", \"-\" and \".\" (1 to 128)"}},
      {"module = 3\n", {"t.toml:1:10: module: expected table, got integer"}},
  };
  for (const auto& c : cases) {
    auto loaded = load_string(c.toml, "t.toml");
    EXPECT_FALSE(loaded.ok()) << c.toml;
    EXPECT_EQ(loaded.errors, c.errors) << c.toml;
  }
}

}  // namespace
}  // namespace smtp_exporter::config
