// common/host_port: the one host:port splitter and port parser.
#include <gtest/gtest.h>

#include "common/host_port.hpp"

namespace {

using smtp_exporter::host_port_problem;
using smtp_exporter::parse_port;
using smtp_exporter::split_host_port;

TEST(host_port, formats_ipv6_in_brackets) {
  EXPECT_EQ(smtp_exporter::host_port("::1", 25), "[::1]:25");
  EXPECT_EQ(smtp_exporter::host_port("smtp.test", 587), "smtp.test:587");
}

TEST(host_port, ports_are_digits_from_1_to_65535) {
  EXPECT_EQ(parse_port("25"), 25);
  EXPECT_EQ(parse_port("65535"), 65535);
  EXPECT_FALSE(parse_port("65536"));
  EXPECT_FALSE(parse_port("0"));
  EXPECT_EQ(parse_port("0", true), 0);
  EXPECT_FALSE(parse_port(""));
  EXPECT_FALSE(parse_port("+25"));
  EXPECT_FALSE(parse_port(" 25"));
  EXPECT_FALSE(parse_port("000025"));
}

TEST(host_port, splits_each_written_form) {
  host_port_problem problem;
  auto a = split_host_port("smtp.test:587", problem);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "smtp.test");
  EXPECT_EQ(a->port, "587");
  EXPECT_FALSE(a->bracketed);

  auto b = split_host_port("[::1]:25", problem);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, "25");
  EXPECT_TRUE(b->bracketed);

  auto c = split_host_port("[::1]", problem);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "::1");
  EXPECT_FALSE(c->port);

  auto d = split_host_port("2001:db8::1", problem);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->host, "2001:db8::1");
  EXPECT_FALSE(d->port);

  auto e = split_host_port(":9465", problem);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "");
  EXPECT_EQ(e->port, "9465");

  auto f = split_host_port("smtp.test", problem);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->port);
}

TEST(host_port, refuses_a_bracket_left_open_or_followed_by_junk) {
  host_port_problem problem;
  EXPECT_FALSE(split_host_port("[::1:25", problem));
  EXPECT_EQ(problem, host_port_problem::unclosed_bracket);
  EXPECT_FALSE(split_host_port("[::1]x25", problem));
  EXPECT_EQ(problem, host_port_problem::junk_after_bracket);
}

}  // namespace
