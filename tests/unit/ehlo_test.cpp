#include "probes/smtp/ehlo.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace smtp_exporter::probes {
namespace {

smtp_reply ehlo(std::vector<std::string> lines) {
  smtp_reply r;
  r.code = 250;
  r.lines = std::move(lines);
  return r;
}

TEST(parse_ehlo, postfix_reply) {
  const auto caps = parse_ehlo(ehlo({
      "mx.example.com",
      "PIPELINING",
      "SIZE 10240000",
      "VRFY",
      "ETRN",
      "STARTTLS",
      "AUTH PLAIN LOGIN",
      "AUTH=PLAIN LOGIN",
      "ENHANCEDSTATUSCODES",
      "8BITMIME",
      "DSN",
      "SMTPUTF8",
      "CHUNKING",
  }));
  for (auto e : {extension::pipelining, extension::size, extension::vrfy, extension::etrn,
                 extension::starttls, extension::auth, extension::enhanced_status_codes,
                 extension::eight_bit_mime, extension::dsn, extension::smtputf8,
                 extension::chunking}) {
    EXPECT_TRUE(caps.has(e)) << to_string(e);
  }
  EXPECT_FALSE(caps.has(extension::requiretls));
  EXPECT_FALSE(caps.has(extension::help));
  EXPECT_EQ(caps.size_limit, 10240000u);
  EXPECT_TRUE(caps.has(auth_mechanism::plain));
  EXPECT_TRUE(caps.has(auth_mechanism::login));
  EXPECT_FALSE(caps.has(auth_mechanism::cram_md5));
}

TEST(parse_ehlo, starttls_on_the_last_line) {
  const auto caps = parse_ehlo(ehlo({"mx.example.com Hello", "PIPELINING", "STARTTLS"}));
  EXPECT_TRUE(caps.has(extension::starttls));
  EXPECT_TRUE(caps.has(extension::pipelining));
}

TEST(parse_ehlo, greeting_line_is_not_a_keyword) {
  const auto caps = parse_ehlo(ehlo({"STARTTLS"}));
  EXPECT_EQ(caps, capabilities{});
}

TEST(parse_ehlo, empty_reply) {
  EXPECT_EQ(parse_ehlo(smtp_reply{}), capabilities{});
}

TEST(parse_ehlo, auth_mechanisms) {
  const auto caps = parse_ehlo(ehlo(
      {"mx",
       "AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2 OAUTHBEARER SCRAM-SHA-1 SCRAM-SHA-256 NTLM GSSAPI"}));
  EXPECT_TRUE(caps.has(extension::auth));
  EXPECT_EQ(caps.auth_mechanisms, (1u << auth_mechanism_count) - 1);
}

TEST(parse_ehlo, obsolete_auth_form) {
  const auto caps = parse_ehlo(ehlo({"mx", "AUTH=LOGIN PLAIN"}));
  EXPECT_TRUE(caps.has(extension::auth));
  EXPECT_TRUE(caps.has(auth_mechanism::login));
  EXPECT_TRUE(caps.has(auth_mechanism::plain));
  EXPECT_FALSE(caps.has(auth_mechanism::cram_md5));
}

TEST(parse_ehlo, forms_add_up) {
  const auto caps = parse_ehlo(ehlo({"mx", "AUTH=LOGIN", "AUTH CRAM-MD5"}));
  EXPECT_TRUE(caps.has(auth_mechanism::login));
  EXPECT_TRUE(caps.has(auth_mechanism::cram_md5));
}

TEST(parse_ehlo, unknown_mechanisms_and_extra_blanks_are_ignored) {
  const auto caps = parse_ehlo(ehlo({"mx", "AUTH  DIGEST-MD5   plain\tX-FOO "}));
  EXPECT_EQ(caps.auth_mechanisms, 1u << static_cast<unsigned>(auth_mechanism::plain));
}

TEST(parse_ehlo, auth_without_mechanisms) {
  const auto caps = parse_ehlo(ehlo({"mx", "AUTH"}));
  EXPECT_TRUE(caps.has(extension::auth));
  EXPECT_EQ(caps.auth_mechanisms, 0u);
}

TEST(parse_ehlo, keywords_are_case_insensitive) {
  const auto caps =
      parse_ehlo(ehlo({"mx", "starttls", "Auth plain Cram-Md5", "8bitmime", "mt-priority MIXER"}));
  EXPECT_TRUE(caps.has(extension::starttls));
  EXPECT_TRUE(caps.has(extension::auth));
  EXPECT_TRUE(caps.has(extension::eight_bit_mime));
  EXPECT_TRUE(caps.has(extension::mt_priority));
  EXPECT_TRUE(caps.has(auth_mechanism::plain));
  EXPECT_TRUE(caps.has(auth_mechanism::cram_md5));
}

TEST(parse_ehlo, size) {
  EXPECT_EQ(parse_ehlo(ehlo({"mx", "SIZE 35882577"})).size_limit, 35882577u);
  EXPECT_EQ(parse_ehlo(ehlo({"mx", "SIZE 0"})).size_limit, 0u);
  EXPECT_EQ(parse_ehlo(ehlo({"mx", "SIZE 18446744073709551615"})).size_limit,
            18446744073709551615u);

  for (const char* line : {"SIZE", "SIZE abc", "SIZE 12abc", "SIZE -5", "SIZE 18446744073709551616",
                           "SIZE +5"}) {
    const auto caps = parse_ehlo(ehlo({"mx", line}));
    EXPECT_TRUE(caps.has(extension::size)) << line;
    EXPECT_EQ(caps.size_limit, 0u) << line;
  }
}

TEST(parse_ehlo, unknown_keywords_are_ignored) {
  const auto caps = parse_ehlo(ehlo({"mx", "X-EXPS GSSAPI NTLM", "XCLIENT NAME ADDR", "STARTTLSX",
                                     "SIZEX 100", "X-LINK2STATE"}));
  EXPECT_EQ(caps, capabilities{});
}

TEST(parse_ehlo, every_extension_keyword_is_understood) {
  std::vector<std::string> lines{"mx"};
  for (std::size_t i = 0; i < extension_count; ++i) {
    lines.emplace_back(to_string(static_cast<extension>(i)));
  }
  const auto caps = parse_ehlo(ehlo(lines));
  EXPECT_EQ(caps.extensions, (1u << extension_count) - 1);
}

}  // namespace
}  // namespace smtp_exporter::probes
