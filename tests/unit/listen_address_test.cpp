// --web.listen-address as parse_listen_address (exporter/web/http_server.hpp) reads it: the forms
// the README documents, and the wording of each refusal.
#include <gtest/gtest.h>

#include "exporter/web/http_server.hpp"

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;

TEST(listen_address, documented_forms) {
  struct good {
    const char* text;
    const char* address;
    std::uint16_t port;
  };
  const good cases[] = {
      {":9465", "::", 9465},
      {"127.0.0.1:9465", "127.0.0.1", 9465},
      {"127.0.0.1:0", "127.0.0.1", 0},  // the kernel picks a free port
      {"[::1]:9465", "::1", 9465},
      {"[::]:80", "::", 80},
      {"[]:80", "::", 80},
      {"[127.0.0.1]:80", "127.0.0.1", 80},
      {"localhost:9465", "127.0.0.1", 9465},
      {"[localhost]:9465", "127.0.0.1", 9465},
      {"0.0.0.0:09465", "0.0.0.0", 9465},
  };
  for (const auto& c : cases) {
    asio::ip::tcp::endpoint endpoint;
    std::string error;
    ASSERT_TRUE(parse_listen_address(c.text, endpoint, error)) << c.text << ": " << error;
    EXPECT_EQ(endpoint.address().to_string(), c.address) << c.text;
    EXPECT_EQ(endpoint.port(), c.port) << c.text;
  }
}

TEST(listen_address, refusals_name_the_address) {
  const std::pair<const char*, const char*> bad[] = {
      {"9465", "listen address \"9465\" has no port (want host:port or :port)"},
      {"localhost", "listen address \"localhost\" has no port (want host:port or :port)"},
      {"host:", "listen address \"host:\" has an invalid port"},
      {":65536", "listen address \":65536\" has an invalid port"},
      {":x", "listen address \":x\" has an invalid port"},
      {":94 65", "listen address \":94 65\" has an invalid port"},
      {"[::1]:", "listen address \"[::1]:\" has an invalid port"},
      {"example.com:80", "listen address \"example.com:80\": \"example.com\" is not an IP address"},
      {"[::1:80", "listen address \"[::1:80\": \"[::1\" is not an IP address"},
      {"[::1]x:80", "listen address \"[::1]x:80\": \"[::1]x\" is not an IP address"},
  };
  for (const auto& [text, message] : bad) {
    asio::ip::tcp::endpoint endpoint;
    std::string error;
    EXPECT_FALSE(parse_listen_address(text, endpoint, error)) << text;
    EXPECT_EQ(error, message) << text;
  }
}

}  // namespace
}  // namespace smtp_exporter::exporter
