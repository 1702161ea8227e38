// The envelope probe and policy rejections end to end: scripted peers for each refusal (the
// provider replies of issue 10), and postfix with Cyrus SASL. Every case also reads the peer's own
// command log: DATA/BDAT never arrived, and the session ended with RSET (after MAIL/RCPT) and QUIT.
#include <gtest/gtest.h>

#include <ostream>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"

namespace smtp_test {
namespace {

const std::string secret = "s3cr3t-Pa55word";

std::string target_toml(const std::string& name, std::uint16_t port, const std::string& probes,
                        bool with_auth) {
  std::string toml = "[[target]]\nname = \"" + name + "\"\nhost = \"127.0.0.1\"\nport = " +
                     std::to_string(port) +
                     "\ntls = \"none\"\nallow_plaintext = true\nenvelope_interval = \"1s\"\n"
                     "probes = [" + probes + "]\n";
  if (with_auth) {
    toml += "[target.auth]\nusername = \"monitor@example.com\"\npassword_env = "
            "\"SMTP_ENVELOPE_TEST_PW\"\nmechanism = \"PLAIN\"\n";
  }
  toml += "[target.envelope]\nmail_from = \"monitor@example.com\"\nrcpt_to = \"ops@example.net\"\n";
  return "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\n\n" + toml;
}

// The client's lines as the fake peer logged them ("C: ..."), one per line.
bool peer_received(const std::string& log, const std::string& prefix) {
  return log.find("\nC: " + prefix) != std::string::npos || log.rfind("C: " + prefix, 0) == 0;
}

struct refusal_case {
  const char* script;
  const char* probe;          // the probe the refusal decides
  bool auth;                  // the target authenticates first
  const char* result;
  int code;
  const char* enhanced;       // "" when none
  int policy;
  bool rset;                  // MAIL or RCPT ran: RSET must follow
};

void PrintTo(const refusal_case& c, std::ostream* os) { *os << c.script; }

class envelope_refusal : public ::testing::TestWithParam<refusal_case> {
 protected:
  temp_dir dir_;
};

TEST_P(envelope_refusal, reason_code_policy_and_the_peer_log) {
  const auto& c = GetParam();
  ::setenv("SMTP_ENVELOPE_TEST_PW", secret.c_str(), 1);
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir_, c.script, port);
  ASSERT_NE(port, 0) << peer->log();
  const std::string probes = c.auth ? "\"banner\", \"auth\", \"envelope\"" : "\"banner\", \"envelope\"";
  exporter_process exporter(dir_, target_toml("peer", port, probes, c.auth));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"peer"}, "envelope");
  const std::map<std::string, std::string> labels{{"target", "peer"}, {"probe", c.probe}};
  EXPECT_EQ(probe_result(text, "peer", c.probe), c.result) << text << exporter.process().log();
  // A refusal at an earlier stage decides the envelope too.
  EXPECT_EQ(probe_result(text, "peer", "envelope"), c.result);
  EXPECT_EQ(metric_value(text, "smtp_reply_code", labels), c.code);
  EXPECT_EQ(metric_value(text, "smtp_probe_policy_rejected", labels), c.policy) << text;
  if (*c.enhanced) {
    EXPECT_EQ(label_value(text, "smtp_reply_enhanced_status_info", labels, "code"), c.enhanced)
        << text;
  } else {
    EXPECT_FALSE(label_value(text, "smtp_reply_enhanced_status_info", labels, "code")) << text;
  }

  peer->terminate();
  const std::string log = peer->log();
  EXPECT_FALSE(peer_received(log, "DATA")) << log;
  EXPECT_FALSE(peer_received(log, "BDAT")) << log;
  EXPECT_TRUE(peer_received(log, "QUIT")) << log;
  EXPECT_EQ(peer_received(log, "RSET"), c.rset) << log;
  if (c.rset) {
    // No SIZE= or other parameter: the probe declares no message.
    EXPECT_TRUE(log.find("C: MAIL FROM:<monitor@example.com>\n") != std::string::npos) << log;
  }
}

INSTANTIATE_TEST_SUITE_P(
    scripts, envelope_refusal,
    ::testing::Values(
        refusal_case{"envelope_ok", "envelope", false, "success", 250, "2.1.5", 0, true},
        refusal_case{"mail_550_571", "envelope", false, "sender_rejected", 550, "5.7.1", 1, true},
        refusal_case{"mail_451", "envelope", false, "sender_tempfail", 451, "4.3.0", 0, true},
        refusal_case{"rcpt_550_571", "envelope", false, "recipient_rejected", 550, "5.7.1", 1, true},
        refusal_case{"rcpt_421_470", "envelope", false, "recipient_tempfail", 421, "4.7.0", 1, true},
        // Microsoft: passwords are off for the tenant (issue 20): the account, not this client.
        refusal_case{"auth_535_57139", "auth", true, "auth_basic_disabled", 535, "5.7.139", 0,
                     false},
        refusal_case{"greeting_220_then_554", "banner", false, "banner_rejected", 554, "5.7.1", 1,
                     false}),
    [](const auto& info) { return std::string(info.param.script); });

// The greeting's text survives in the transcript (/probe/debug), each line with its own code.
TEST(envelope, greeting_220_then_554_keeps_the_server_text) {
  temp_dir dir;
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir, "greeting_220_then_554", port);
  ASSERT_NE(port, 0) << peer->log();
  exporter_process exporter(dir, target_toml("g", port, "\"banner\"", false));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  exporter.scrape_until_decided({"g"}, "banner");
  auto debug = http_request(exporter.port(), "GET", "/probe/debug?target=g");
  EXPECT_NE(debug.body.find("S: 220-mx.fake.test ESMTP"), std::string::npos) << debug.body;
  EXPECT_NE(debug.body.find("S: 554 5.7.1 Service unavailable; client host [127.0.0.1] blocked "
                            "using zen.spamhaus.org"),
            std::string::npos)
      << debug.body;
}

// Postfix with Cyrus SASL, after STARTTLS: AUTH, then MAIL/RCPT to the one address it accepts is
// a success; any other recipient is refused with postfix's own enhanced code (554 5.7.1).
TEST(envelope, postfix_with_sasl_accepts_one_recipient_and_refuses_another) {
  ASSERT_TRUE(postfix_peer::available());
  temp_dir dir;
  test_pki pki;
  postfix_peer server(dir, pki.valid.chain_file, pki.valid.key_file,
                      sasl_options{"alice", secret, ""}, "mx.test", "postmaster@mx.test");
  ASSERT_TRUE(server.started()) << server.log();
  auto password = dir.write("pw", secret + "\n");
  auto target = [&](const std::string& name, const std::string& rcpt) {
    return "[[target]]\nname = \"" + name + "\"\nhost = \"127.0.0.1\"\nport = " +
           std::to_string(server.starttls_port()) +
           "\nprobes = [\"banner\", \"tls\", \"auth\", \"envelope\"]\nenvelope_interval = \"2s\"\n"
           "[target.tls]\nserver_name = \"mx.test\"\nca_file = \"" + pki.root_file.string() +
           "\"\n[target.auth]\nusername = \"alice\"\npassword_file = \"" + password.string() +
           "\"\n[target.envelope]\nmail_from = \"alice@mx.test\"\nrcpt_to = \"" + rcpt + "\"\n\n";
  };
  exporter_process exporter(dir, "[defaults]\ninterval = \"2s\"\ntimeout = \"2s\"\n\n" +
                                     target("accepted", "postmaster@mx.test") +
                                     target("refused", "someone@elsewhere.example"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"accepted", "refused"}, "envelope", 30s);
  EXPECT_EQ(probe_result(text, "accepted", "envelope"), "success") << text << server.log();
  EXPECT_EQ(probe_result(text, "accepted", "auth"), "success");
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "accepted"}, {"probe", "envelope"}}),
            250);
  EXPECT_EQ(label_value(text, "smtp_reply_enhanced_status_info",
                        {{"target", "accepted"}, {"probe", "envelope"}}, "code"),
            "2.1.5");
  EXPECT_TRUE(metric_value(text, "smtp_probe_phase_duration_seconds",
                           {{"target", "accepted"}, {"phase", "rcpt_to"}}));

  EXPECT_EQ(probe_result(text, "refused", "envelope"), "recipient_rejected") << text;
  EXPECT_EQ(probe_result(text, "refused", "auth"), "success");
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "refused"}, {"probe", "envelope"}}),
            554);
  EXPECT_EQ(label_value(text, "smtp_reply_enhanced_status_info",
                        {{"target", "refused"}, {"probe", "envelope"}}, "code"),
            "5.7.1");
  EXPECT_EQ(metric_value(text, "smtp_probe_policy_rejected",
                         {{"target", "refused"}, {"probe", "envelope"}}),
            1);

  // Postfix's own count of the commands of each session: MAIL, RCPT, RSET, QUIT; never DATA.
  const std::string log = server.log();
  EXPECT_NE(log.find("mail=1 rcpt=1 rset=1 quit=1"), std::string::npos) << log;
  EXPECT_NE(log.find("mail=1 rcpt=0/1 rset=1 quit=1"), std::string::npos) << log;
  EXPECT_EQ(log.find(" data="), std::string::npos) << log;
  EXPECT_EQ(log.find(" bdat="), std::string::npos) << log;
}

}  // namespace
}  // namespace smtp_test
