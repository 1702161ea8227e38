// The auth probe end to end over plain text (allow_plaintext), against aiosmtpd's real
// authenticator and scripted servers for the replies no real server gives on demand.
// (AUTH after STARTTLS, and CRAM-MD5 through postfix, are in tls_test.cpp.)
#include <gtest/gtest.h>

#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

const std::string secret = "s3cr3t-Pa55word";

std::string auth_target(const std::string& name, std::uint16_t port, const std::string& auth_block) {
  return "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\n\n[[target]]\nname = \"" + name +
         "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
         "\ntls = \"none\"\nallow_plaintext = true\nprobes = [\"banner\", \"auth\"]\n\n"
         "[target.auth]\n" + auth_block + "\n";
}

class auth_probe : public ::testing::Test {
 protected:
  temp_dir dir_;
};

TEST_F(auth_probe, aiosmtpd_accepts_and_rejects_and_rotation_needs_no_reload) {
  auto server_password = dir_.write("server.pw", secret);
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port,
                             {"--auth-user", "alice", "--auth-password-file", server_password.string(),
                              "--mechanisms", "PLAIN,LOGIN"});
  ASSERT_NE(port, 0) << peer->log();
  auto client_password = dir_.write("client.pw", "wrong-password\n");
  exporter_process exporter(dir_, auth_target("aio", port,
                                              "username = \"alice\"\npassword_file = \"" +
                                                  client_password.string() + "\"\n"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"aio"}, "auth");
  EXPECT_EQ(probe_result(text, "aio", "auth"), "auth_rejected") << text;
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "aio"}, {"probe", "auth"}}), 535);
  EXPECT_EQ(metric_value(text, "smtp_probe_success", {{"target", "aio"}, {"probe", "banner"}}), 1);
  EXPECT_EQ(metric_value(text, "smtp_auth_mechanism_info", {{"target", "aio"}, {"mechanism", "PLAIN"}}), 1);

  // Rotate the secret file (as a Kubernetes secret update would); the next probe uses it.
  dir_.write("client.pw", secret + "\n");
  text = exporter.scrape_until([](const std::string& t) { return probe_result(t, "aio", "auth") == "success"; });
  EXPECT_EQ(probe_result(text, "aio", "auth"), "success") << text;
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "aio"}, {"probe", "auth"}}), 235);
  EXPECT_TRUE(metric_value(text, "smtp_probe_phase_duration_seconds", {{"target", "aio"}, {"phase", "auth"}}));
  EXPECT_GE(metric_value(text, "smtp_probe_failures_total",
                         {{"target", "aio"}, {"probe", "auth"}, {"reason", "auth_rejected"}}).value_or(0), 1);
}

TEST_F(auth_probe, forced_login_mechanism) {
  auto server_password = dir_.write("server.pw", secret);
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port,
                             {"--auth-user", "alice", "--auth-password-file", server_password.string(),
                              "--mechanisms", "LOGIN"});
  ASSERT_NE(port, 0);
  ::setenv("SMTP_TEST_PASSWORD", secret.c_str(), 1);
  exporter_process exporter(dir_, auth_target("login", port,
                                              "username = \"alice\"\npassword_env = \"SMTP_TEST_PASSWORD\"\n"
                                              "mechanism = \"LOGIN\"\n"));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"login"}, "auth");
  EXPECT_EQ(probe_result(text, "login", "auth"), "success") << text << exporter.process().log();
}

struct scripted_auth_case {
  const char* script;
  const char* auth_block;
  const char* result;
  int code;
};
// A failing case reads as its script, not as the struct's bytes (nor the password it holds).
void PrintTo(const scripted_auth_case& c, std::ostream* os) { *os << c.script; }

class scripted_auth : public auth_probe, public ::testing::WithParamInterface<scripted_auth_case> {};

TEST_P(scripted_auth, reports_reason_and_reply_code) {
  const auto& c = GetParam();
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir_, c.script, port);
  ASSERT_NE(port, 0) << peer->log();
  exporter_process exporter(dir_, auth_target("peer", port, c.auth_block));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"peer"}, "auth");
  EXPECT_EQ(probe_result(text, "peer", "auth"), c.result) << text << exporter.process().log();
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "peer"}, {"probe", "auth"}}), c.code);
}

constexpr const char* inline_password = "username = \"alice\"\npassword = \"s3cr3t-Pa55word\"\n";

INSTANTIATE_TEST_SUITE_P(
    scripts, scripted_auth,
    ::testing::Values(scripted_auth_case{"auth_530", inline_password, "auth_requires_tls", 530},
                      scripted_auth_case{"auth_538", inline_password, "auth_requires_tls", 538},
                      scripted_auth_case{"auth_454", inline_password, "auth_tempfail", 454},
                      scripted_auth_case{"auth_504", inline_password, "auth_unsupported", 504},
                      // Replies naming an account setting (issue 20): Microsoft's and Google's.
                      scripted_auth_case{"auth_535_57139", inline_password, "auth_basic_disabled",
                                         535},
                      scripted_auth_case{"auth_534_579", inline_password,
                                         "auth_app_password_required", 534},
                      scripted_auth_case{"auth_534_5714", inline_password,
                                         "auth_web_login_required", 534},
                      scripted_auth_case{"auth_334_loop", inline_password, "protocol_error", 334},
                      // The unexpected 334 decides, whatever happens to our "*" cancel after it.
                      scripted_auth_case{"auth_334_cancel_closed", inline_password,
                                         "protocol_error", 334},
                      scripted_auth_case{"auth_334_cancel_garbage", inline_password,
                                         "protocol_error", 334},
                      scripted_auth_case{"auth_no_auth", inline_password, "auth_unsupported", 0},
                      scripted_auth_case{"greeting_554", inline_password, "banner_rejected", 554}),
    [](const auto& info) { return std::string(info.param.script); });

TEST_F(auth_probe, xoauth2_token_accepted_and_expired) {
  auto token_file = dir_.write("token", "ya29.secret-token\n");
  std::string block = "username = \"alice@example.test\"\ntoken_file = \"" + token_file.string() +
                      "\"\nmechanism = \"XOAUTH2\"\n";
  {
    std::uint16_t port = 0;
    auto peer = start_fake_smtp(dir_, "xoauth2_ok", port);
    ASSERT_NE(port, 0);
    exporter_process exporter(dir_, auth_target("oauth", port, block));
    ASSERT_TRUE(exporter.started());
    auto text = exporter.scrape_until_decided({"oauth"}, "auth");
    EXPECT_EQ(probe_result(text, "oauth", "auth"), "success") << text << peer->log();
  }
  {
    std::uint16_t port = 0;
    auto peer = start_fake_smtp(dir_, "xoauth2_expired", port);
    ASSERT_NE(port, 0);
    exporter_process exporter(dir_, auth_target("oauth", port, block));
    ASSERT_TRUE(exporter.started());
    auto text = exporter.scrape_until_decided({"oauth"}, "auth");
    EXPECT_EQ(probe_result(text, "oauth", "auth"), "auth_rejected") << text;
    EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "oauth"}, {"probe", "auth"}}), 535);
    // The server's JSON error is worth a log line; the token is not.
    EXPECT_NE(exporter.process().log().find("https://mail.google.com/"), std::string::npos);
  }
}

TEST_F(auth_probe, missing_secret_file_is_credentials_unavailable) {
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir_, "auth_530", port);
  ASSERT_NE(port, 0);
  exporter_process exporter(dir_, auth_target("nofile", port,
                                              "username = \"alice\"\npassword_file = \"" +
                                                  (dir_.path() / "absent").string() + "\"\n"));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"nofile"}, "auth");
  EXPECT_EQ(probe_result(text, "nofile", "auth"), "credentials_unavailable") << text;
}

std::string base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
    for (int k = 3; k >= 0; --k) out.push_back(alphabet[(v >> (6 * k)) & 63]);
  }
  if (bytes.size() - i == 1) {
    unsigned v = (unsigned char)bytes[i] << 16;
    out += std::string{alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63], '=', '='};
  } else if (bytes.size() - i == 2) {
    unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8;
    out += std::string{alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63], alphabet[(v >> 6) & 63], '='};
  }
  return out;
}

TEST_F(auth_probe, secret_never_appears_in_logs_or_metrics_at_debug_level) {
  auto server_password = dir_.write("server.pw", secret);
  std::uint16_t ok_port = 0, bad_port = 0;
  auto ok_peer = start_aiosmtpd(dir_, ok_port,
                                {"--auth-user", "alice", "--auth-password-file", server_password.string(),
                                 "--mechanisms", "PLAIN,LOGIN"});
  auto bad_peer = start_fake_smtp(dir_, "auth_454", bad_port);
  ASSERT_NE(ok_port, 0);
  ASSERT_NE(bad_port, 0);
  auto password_file = dir_.write("client.pw", secret);
  std::string toml = auth_target("plain", ok_port, "username = \"alice\"\npassword_file = \"" +
                                                       password_file.string() + "\"\n");
  for (auto [name, port, mech] : {std::tuple{"login", ok_port, "LOGIN"}, std::tuple{"tempfail", bad_port, "PLAIN"}}) {
    toml += std::string("[[target]]\nname = \"") + name + "\"\nhost = \"127.0.0.1\"\nport = " +
            std::to_string(port) + "\ntls = \"none\"\nallow_plaintext = true\nprobes = [\"banner\", \"auth\"]\n"
            "[target.auth]\nusername = \"alice\"\npassword = \"" + secret + "\"\nmechanism = \"" + mech + "\"\n\n";
  }
  exporter_process exporter(dir_, toml, {"--log.level", "debug"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([](const std::string& t) {
    return probe_result(t, "plain", "auth") == "success" && probe_result(t, "login", "auth") == "success" &&
           probe_result(t, "tempfail", "auth") == "auth_tempfail" &&
           metric_value(t, "smtp_probe_runs_total", {{"target", "plain"}, {"probe", "auth"}}).value_or(0) >= 2;
  });
  ASSERT_EQ(probe_result(text, "plain", "auth"), "success") << text;
  ASSERT_EQ(probe_result(text, "login", "auth"), "success");
  text += http_request(exporter.port(), "GET", "/").body;
  exporter.process().terminate();
  auto log = exporter.process().log();
  ASSERT_NE(log.find("level=debug"), std::string::npos);  // the debug lines were really written
  for (const auto& form : {secret, base64(secret), base64(std::string("\0alice\0", 7) + secret),
                           base64(std::string("alice\0", 6) + secret)}) {
    EXPECT_EQ(log.find(form), std::string::npos) << form;
    EXPECT_EQ(text.find(form), std::string::npos) << form;
  }
}

}  // namespace
}  // namespace smtp_test
