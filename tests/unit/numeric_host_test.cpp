// Issue 24, finding 5: hosts that a resolver reads as an IPv4 address although they are not one
// in canonical form ("0127.0.0.1": c-ares 1.18 answers 127.0.0.1 without a query) are refused
// everywhere a host comes in: /probe targets, allowed_hosts patterns, config hosts, diagnose, and
// the resolver itself. A wildcard pattern never matches such a host, nor an IP literal.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "common/numeric_host.hpp"
#include "config/allow_list.hpp"
#include "config/config.hpp"
#include "exporter/app/probe_endpoint.hpp"
#include "exporter/cli/diagnose_plan.hpp"
#include "probes/dns/resolver.hpp"
#include "tests/support/run_task.hpp"

namespace smtp_exporter {
namespace {

const std::string message(numeric_host_message);

// Each reaches 127.0.0.1 through some resolver: the first three through c-ares 1.18 without a
// DNS query (seen), the others through inet_aton (glibc, and any library built on it).
const char* const noncanonical[] = {
    "0127.0.0.1",  "00127.0.0.1", "127.000.000.001", "127.1",       "127.0.1",
    "0x7f.0.0.1",  "0X7F.0.0.1",  "2130706433",      "0x7f000001",  "017700000001",
    "127.0.0.1.",  "1.2.3.4.5",   "0x",              "mail.0x7f",   "a.b.1",
};

TEST(numeric_hosts, the_rule_takes_the_canonical_dotted_quad_only) {
  for (const char* host : noncanonical) EXPECT_TRUE(is_noncanonical_numeric_host(host)) << host;
  for (const char* host : {"127.0.0.1", "0.0.0.0", "255.255.255.255", "10.1.2.3", "::1",
                           "::ffff:127.0.0.1", "localhost", "smtp.example.com", "1.example.com",
                           "123.example", "mx1", "x0x", "0xg", "smtp.0xa.com"}) {
    EXPECT_FALSE(is_noncanonical_numeric_host(host)) << host;
  }
}

TEST(numeric_hosts, probe_targets_refuse_them) {
  for (const char* host : noncanonical) {
    std::string error;
    const std::string text = std::string(host) + ":2525";
    EXPECT_FALSE(exporter::parse_probe_target(text, error).has_value()) << text;
    EXPECT_EQ(error, "target \"" + text + "\": host " + message) << text;
  }
}

TEST(numeric_hosts, allowed_hosts_patterns_refuse_them_and_wildcards_over_numbers) {
  for (const char* pattern : noncanonical) {
    const auto problem = config::host_pattern_problem(pattern);
    ASSERT_TRUE(problem.has_value()) << pattern;
    EXPECT_EQ(*problem, message) << pattern;
  }
  // A wildcard in a numeric last label: the finding's "*7.0.0.1" matched "0127.0.0.1".
  for (const char* pattern : {"*7.0.0.1", "12*.0.0.1", "127.0.0.*1", "*.0x7f", "0x*", "*1"}) {
    const auto problem = config::host_pattern_problem(pattern);
    ASSERT_TRUE(problem.has_value()) << pattern;
    EXPECT_EQ(*problem, "is an address with a wildcard; list address ranges in allowed_cidrs")
        << pattern;
  }
  // Wildcards never match an IP literal or a numeric host, whatever the pattern.
  for (const char* pattern : {"*", "*.*", "*.*.*.*1", "smtp.*", "*.0.1"}) {
    for (const char* host : {"127.0.0.1", "2130706433", "0127.0.0.1", "127.1", "0x7f000001"}) {
      EXPECT_FALSE(config::host_matches(pattern, host)) << pattern << " vs " << host;
    }
  }
  EXPECT_TRUE(config::host_matches("*", "localhost"));
  EXPECT_TRUE(config::host_matches("smtp.*", "smtp.com"));
}

TEST(numeric_hosts, config_hosts_refuse_them) {
  for (const char* host : {"0127.0.0.1", "127.1", "2130706433", "0x7f.0.0.1"}) {
    const auto loaded = config::load_string(
        "[[target]]\nname = \"a\"\nhost = \"" + std::string(host) + "\"\nport = 25\n", "t.toml");
    ASSERT_FALSE(loaded.ok()) << host;
    ASSERT_EQ(loaded.errors.size(), 1u) << host;
    EXPECT_EQ(loaded.errors[0], "t.toml:3:8: target[0].host: " + message) << host;
  }
  const auto loaded = config::load_string(
      "[module.m]\nallowed_hosts = [\"*7.0.0.1\", \"0127.0.0.1\"]\nallowed_ports = [25]\n",
      "t.toml");
  ASSERT_FALSE(loaded.ok());
  ASSERT_EQ(loaded.errors.size(), 2u);
  EXPECT_EQ(loaded.errors[0],
            "t.toml:2:18: module.m.allowed_hosts[0]: host pattern is an address with a wildcard; "
            "list address ranges in allowed_cidrs");
  EXPECT_EQ(loaded.errors[1], "t.toml:2:30: module.m.allowed_hosts[1]: host pattern " + message);
}

TEST(numeric_hosts, diagnose_refuses_them) {
  for (const char* host : {"0127.0.0.1", "127.1", "2130706433"}) {
    exporter::diagnose_options o;
    o.target = std::string(host) + ":25";
    exporter::plan p;
    std::string error;
    EXPECT_FALSE(exporter::make_plan(o, p, error)) << host;
    EXPECT_EQ(error, "unknown target \"" + o.target + "\": host " + message) << host;

    o.target = "127.0.0.1:25";
    o.host = host;
    error.clear();
    EXPECT_FALSE(exporter::make_plan(o, p, error)) << host;
    EXPECT_EQ(error, "--host " + std::string(host) + ": " + message) << host;
  }
}

TEST(numeric_hosts, the_resolver_refuses_them_without_asking) {
  boost::asio::io_context io;
  probes::dns_resolver resolver(io.get_executor());
  for (const char* host : noncanonical) {
    const auto r = smtp_test::run(
        io, resolver.resolve(host, 25, std::chrono::steady_clock::now() + std::chrono::seconds(5)));
    std::string got;
    for (const auto& e : r.endpoints) got += e.address().to_string() + " ";
    EXPECT_EQ(r.outcome, probes::resolve_result::status::failure) << host << " -> " << got;
    EXPECT_EQ(r.error, "host " + message) << host;
  }
}

}  // namespace
}  // namespace smtp_exporter
