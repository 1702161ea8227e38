// The pure parts of /probe (exporter/app/probe_endpoint.hpp): the target parameter and the deadline.
#include <gtest/gtest.h>

#include "exporter/app/probe_endpoint.hpp"

namespace smtp_exporter::exporter {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST(probe_request, targets_are_host_and_port) {
  struct good {
    const char* text;
    const char* host;
    std::uint16_t port;
  };
  const good cases[] = {
      {"smtp.gmail.com:587", "smtp.gmail.com", 587},
      {"SMTP.Gmail.com.:465", "smtp.gmail.com", 465},
      {"127.0.0.1:25", "127.0.0.1", 25},
      {"[::1]:2525", "::1", 2525},
      {"[2001:db8::1]:65535", "2001:db8::1", 65535},
  };
  for (const auto& c : cases) {
    std::string error;
    auto t = parse_probe_target(c.text, error);
    ASSERT_TRUE(t.has_value()) << c.text << ": " << error;
    EXPECT_EQ(t->host, c.host);
    EXPECT_EQ(t->port, c.port);
  }
  const std::pair<const char*, const char*> bad[] = {
      {"smtp.gmail.com",
       "target \"smtp.gmail.com\" must be HOST:PORT (an IPv6 address in brackets: [::1]:25); the "
       "port is required"},
      {"::1:25",
       "target \"::1:25\" must be HOST:PORT (an IPv6 address in brackets: [::1]:25); the port is "
       "required"},
      {"[::1]", "target \"[::1]\" must be HOST:PORT or [IPV6]:PORT"},
      {"[::1]25", "target \"[::1]25\" must be HOST:PORT or [IPV6]:PORT"},
      {"[localhost]:25", "target \"[localhost]:25\": brackets are for IPv6 addresses only"},
      {"host:0", "target \"host:0\": the port must be a number from 1 to 65535"},
      {"host:65536", "target \"host:65536\": the port must be a number from 1 to 65535"},
      {"host:", "target \"host:\": the port must be a number from 1 to 65535"},
      {"host:+25", "target \"host:+25\": the port must be a number from 1 to 65535"},
      {"host:25x", "target \"host:25x\": the port must be a number from 1 to 65535"},
      {":25", "target \":25\": host must be a DNS name of 1 to 253 characters or an IP address"},
      {"user@host:25",
       "target \"user@host:25\": host is neither a DNS name (letters, digits, \"-\", \"_\", "
       "labels of 1 to 63) nor an IP address"},
      {"a\nb:25",
       "target \"a?b:25\": host is neither a DNS name (letters, digits, \"-\", \"_\", labels of "
       "1 to 63) nor an IP address"},
  };
  for (const auto& [text, message] : bad) {
    std::string error;
    EXPECT_FALSE(parse_probe_target(text, error).has_value()) << text;
    EXPECT_EQ(error, message) << text;
  }
}

TEST(probe_request, deadline_is_the_shorter_of_module_and_scrape_timeout_minus_margin) {
  struct deadline_case {
    milliseconds module;
    std::optional<std::string_view> header;
    milliseconds expected;
  };
  const deadline_case cases[] = {
      {10s, std::nullopt, 10s},
      {10s, "2", 1500ms},
      {10s, "15", 10s},
      {10s, "10.5", 10s},
      {10s, "10.4", 9900ms},
      {1s, "2", 1s},
      {10s, "0.6", 300ms},  // the margin never takes more than half
      {10s, "0.01", 5ms},
      // Unusable headers leave the module's timeout.
      {10s, "", 10s},
      {10s, "abc", 10s},
      {10s, "-2", 10s},
      {10s, "0", 10s},
      {10s, "2s", 10s},
      {10s, "nan", 10s},
      {10s, "1e300", 10s},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(probe_deadline(c.module, c.header), c.expected)
        << (c.header ? std::string(*c.header) : "(none)");
  }
}

// allowed_cidrs are checked on config addresses: an address without a config form (an IPv6 zone)
// used to become 0.0.0.0, which 0.0.0.0/0 ("any IPv4 address") let through to a link-local IPv6
// address on any interface.
TEST(probe_request, an_address_without_a_config_form_is_in_no_cidr) {
  namespace asio = boost::asio;
  config::allow_list any_v4;
  std::string error;
  any_v4.cidrs.push_back(*config::parse_cidr("0.0.0.0/0", error));
  config::allow_list link_local;
  link_local.cidrs.push_back(*config::parse_cidr("fe80::/10", error));

  const asio::ip::address_v6 zoned(asio::ip::make_address_v6("fe80::1").to_bytes(), 1);
  ASSERT_NE(zoned.to_string().find('%'), std::string::npos) << zoned.to_string();
  EXPECT_FALSE(to_config_address(zoned));
  // What the old fallback turned it into is inside 0.0.0.0/0: the hole this closes.
  ASSERT_TRUE(any_v4.allows_address(config::ip_address{}));
  EXPECT_FALSE(cidrs_allow(any_v4, zoned));
  EXPECT_FALSE(cidrs_allow(link_local, zoned));

  // Addresses with a config form are judged as before, a mapped one as its IPv4 address.
  EXPECT_TRUE(cidrs_allow(any_v4, asio::ip::make_address("192.0.2.1")));
  EXPECT_TRUE(cidrs_allow(any_v4, asio::ip::make_address("::ffff:192.0.2.1")));
  EXPECT_FALSE(cidrs_allow(any_v4, asio::ip::make_address("2001:db8::1")));
  EXPECT_TRUE(cidrs_allow(link_local, asio::ip::make_address("fe80::1")));
}

}  // namespace
}  // namespace smtp_exporter::exporter
