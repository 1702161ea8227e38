// The delivery probe's message (issue 21): small, tagged, and no config string can add a header.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "probes/smtp/message.hpp"

namespace smtp_exporter::probes {
namespace {

probe_message sample() {
  probe_message m;
  m.from = "app@example.com";
  m.to = "probe@example.com";
  m.target = "billing relay";
  m.date = std::chrono::system_clock::time_point(std::chrono::seconds(1796651100));  // 2026-12-07
  m.probe_id = make_probe_id(m.target, m.date);
  m.message_id = make_message_id(m.probe_id, m.from);
  return m;
}

TEST(probe_message, tagged_small_and_crlf) {
  const auto m = sample();
  EXPECT_TRUE(std::regex_match(m.probe_id, std::regex(R"(billing_relay-1796651100-[0-9a-f]{16})")))
      << m.probe_id;
  EXPECT_EQ(m.message_id, "<" + m.probe_id + "@example.com>");
  EXPECT_NE(make_probe_id("x", m.date), make_probe_id("x", m.date));  // random part
  const std::string text = compose_probe_message(m);
  EXPECT_LT(text.size(), max_probe_message_bytes);
  EXPECT_NE(text.find("\r\nX-SMTP-Exporter-Probe: " + m.probe_id + "\r\n"), std::string::npos);
  EXPECT_EQ(text.rfind("Date: Mon, 07 Dec 2026 ", 0), 0u) << text;
  EXPECT_NE(text.find("\r\nSubject: smtp_exporter delivery probe for billing relay\r\n"),
            std::string::npos);
  EXPECT_NE(text.find("\r\n\r\n"), std::string::npos);  // headers, then the body
  // Every line ends in CRLF; none is "." or starts with one (it would end or change the message).
  std::size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find("\r\n", start);
    ASSERT_NE(end, std::string::npos) << "a line without CRLF at " << start;
    EXPECT_NE(text[start], '.');
    EXPECT_EQ(text.substr(start, end - start).find('\n'), std::string::npos);
    start = end + 2;
  }
}

TEST(probe_message, config_strings_cannot_inject_a_header) {
  auto m = sample();
  m.target = "x\r\nBcc: victim@example.com";
  m.to = "probe@example.com\r\n.\r\nMAIL FROM:<evil@example.com>";
  const std::string text = compose_probe_message(m);
  EXPECT_EQ(text.find("\r\nBcc:"), std::string::npos) << text;
  EXPECT_EQ(text.find("\r\n.\r\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("\r\nMAIL FROM"), std::string::npos) << text;
}

}  // namespace
}  // namespace smtp_exporter::probes
