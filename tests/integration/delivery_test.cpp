// The delivery probe's sending half (issue 21) through the binary: MAIL FROM, RCPT TO, DATA, one
// tagged message, its ".". aiosmtpd takes the message; scripted peers refuse it at end of data as
// Gmail does (550 5.7.26, 421 4.7.28). The read-back over IMAP is not part of this file.
#include <gtest/gtest.h>

#include <thread>

#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

// The IMAP side points at a port nothing listens on: the read-back fails at once with
// imap_connect_failed (delivery unknown); the sending half is what this file checks.
std::string delivery_config(std::uint16_t port) {
  return "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\n\n[[target]]\nname = \"app\"\n"
         "host = \"127.0.0.1\"\nport = " + std::to_string(port) +
         "\ntls = \"none\"\nallow_plaintext = true\nprobes = [\"banner\", \"delivery\"]\n"
         "delivery_interval = \"10m\"\n\n"
         "[target.delivery]\nfrom = \"app@example.com\"\nto = \"probe@example.com\"\n"
         "deadline = \"5m\"\n[target.delivery.imap]\nhost = \"127.0.0.1\"\nport = " +
         std::to_string(unused_port()) + "\n"
         "[target.delivery.imap.auth]\nusername = \"probe@example.com\"\n"
         "password_env = \"SMTP_TEST_IMAP_PASSWORD\"\n";
}

TEST(delivery_probe, message_accepted_at_end_of_data_once_per_interval) {
  ::setenv("SMTP_TEST_IMAP_PASSWORD", "imap-password", 1);
  temp_dir dir;
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir, port, {});
  ASSERT_NE(port, 0) << peer->log();
  exporter_process exporter(dir, delivery_config(port));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"app"}, "delivery");
  // Accepted (250), then the read-back could not reach IMAP: unknown, never "not delivered".
  EXPECT_EQ(probe_result(text, "app", "delivery"), "imap_connect_failed") << text << peer->log();
  EXPECT_EQ(metric_value(text, "smtp_delivery_messages_sent_total", {{"target", "app"}}), 1);
  EXPECT_TRUE(metric_value(text, "smtp_probe_phase_duration_seconds",
                           {{"target", "app"}, {"phase", "data"}}))
      << text;
  // The message reached the server with its probe header, once: the interval is 10 minutes,
  // the banner probe's 1 s.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const std::string log = peer->log();
  std::size_t messages = 0;
  for (auto at = log.find("X-SMTP-Exporter-Probe: app-"); at != std::string::npos;
       at = log.find("X-SMTP-Exporter-Probe: app-", at + 1)) {
    ++messages;
  }
  EXPECT_EQ(messages, 1u) << log;
  EXPECT_NE(log.find("Subject: smtp_exporter delivery probe for app"), std::string::npos) << log;
  text = exporter.scrape();
  EXPECT_EQ(metric_value(text, "smtp_probe_runs_total", {{"target", "app"}, {"probe", "delivery"}}), 1);
}

struct refusal_case {
  const char* script;
  const char* result;
  int code;
  const char* enhanced;
};
void PrintTo(const refusal_case& c, std::ostream* os) { *os << c.script; }

class delivery_refused : public ::testing::TestWithParam<refusal_case> {};

TEST_P(delivery_refused, at_end_of_data_with_code_and_policy_flag) {
  const auto& c = GetParam();
  temp_dir dir;
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir, c.script, port);
  ASSERT_NE(port, 0) << peer->log();
  exporter_process exporter(dir, delivery_config(port));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"app"}, "delivery");
  EXPECT_EQ(probe_result(text, "app", "delivery"), c.result) << text << peer->log();
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "app"}, {"probe", "delivery"}}), c.code);
  EXPECT_EQ(metric_value(text, "smtp_reply_enhanced_status_info",
                         {{"target", "app"}, {"probe", "delivery"}, {"code", c.enhanced}}),
            1)
      << text;
  // x.7.x refuses this sender by policy: the flag the envelope and AUTH refusals carry.
  EXPECT_EQ(metric_value(text, "smtp_probe_policy_rejected", {{"target", "app"}, {"probe", "delivery"}}), 1);
}

INSTANTIATE_TEST_SUITE_P(gmail, delivery_refused,
                         ::testing::Values(refusal_case{"data_550_5726", "data_rejected", 550, "5.7.26"},
                                           refusal_case{"data_421_4728", "data_tempfail", 421, "4.7.28"}),
                         [](const auto& info) { return std::string(info.param.script); });

}  // namespace
}  // namespace smtp_test
