// The delivery probe end to end (issue 21) through the binary and a real mail system on loopback:
// the exporter sends its tagged message to postfix (STARTTLS), postfix hands it to Dovecot over
// LMTP with a PREPENDed Authentication-Results, and the exporter's read-back finds it over IMAPS:
// Inbox or Junk, the latency, the trusted verdict, the mailbox left empty; an IMAP login that
// fails is imap_auth_rejected (unknown), never not_delivered.
#include <thread>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/certs.hpp"
#include "tests/support/dovecot.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"
#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

class delivery_readback : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dovecot_server::available() || !postfix_peer::available())
      GTEST_SKIP() << "needs root, dovecot, postfix and swaks";
    pki_ = std::make_unique<test_pki>(dir_.path() / "pki");
    dovecot_ = std::make_unique<dovecot_server>(dir_, pki_->valid.chain_file, pki_->valid.key_file);
    ASSERT_TRUE(dovecot_->started()) << dovecot_->log();
    lmtp_relay_options relay;
    relay.lmtp_port = dovecot_->lmtp_port();
    relay.hold_sender = "held@sender.test";
    relay.prepend_header =
        "Authentication-Results: mx.test; spf=fail smtp.mailfrom=app@sender.test; dkim=none; "
        "dmarc=fail header.from=sender.test";
    postfix_ = std::make_unique<postfix_peer>(dir_, pki_->valid.chain_file, pki_->valid.key_file,
                                              std::nullopt, "mx.test", "", relay);
    ASSERT_TRUE(postfix_->started()) << postfix_->log();
  }

  std::string config(const std::string& from, const std::string& imap_password_env) const {
    return "[defaults]\ninterval = \"2s\"\ntimeout = \"2s\"\n\n[[target]]\nname = \"app\"\n"
           "host = \"127.0.0.1\"\nport = " + std::to_string(postfix_->starttls_port()) +
           "\nprobes = [\"banner\", \"tls\", \"delivery\"]\ndelivery_interval = \"10m\"\n"
           "[target.tls]\nmode = \"starttls\"\nserver_name = \"mx.test\"\nca_file = \"" +
           pki_->root_file.string() + "\"\n"
           "[target.delivery]\nfrom = \"" + from + "\"\nto = \"" + dovecot_->options().user +
           "\"\ndeadline = \"20s\"\ntrusted_authserv_id = \"mx.test\"\n"
           "[target.delivery.imap]\nhost = \"127.0.0.1\"\nserver_name = \"mx.test\"\nport = " +
           std::to_string(dovecot_->imaps_port()) + "\nca_file = \"" + pki_->root_file.string() +
           "\"\n[target.delivery.imap.auth]\nusername = \"" + dovecot_->options().user +
           "\"\npassword_env = \"" + imap_password_env + "\"\n";
  }

  // `smtp_exporter diagnose app --config.file ... ARGS`, with the IMAP password in its environment.
  command_result diagnose(const std::string& config_text, std::vector<std::string> args) {
    const auto file = dir_.write("diagnose" + std::to_string(++runs_) + ".toml", config_text);
    std::vector<std::string> argv{exporter_binary().string(), "diagnose", "app", "--config.file",
                                  file.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv, dir_.path(), "diagnose" + std::to_string(runs_),
                         std::chrono::seconds(60),
                         {{"SMTP_TEST_IMAP_PASSWORD", dovecot_->options().password}});
    EXPECT_TRUE(r.status.has_value()) << "diagnose did not finish within 60 s";
    return r;
  }

  // Waits until `mailbox` holds `count` messages on disk, up to `limit`.
  bool wait_for_messages(const std::string& mailbox, std::size_t count,
                         std::chrono::seconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (dovecot_->count_messages(mailbox) != count) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return true;
  }

  int runs_ = 0;
  temp_dir dir_;
  std::unique_ptr<test_pki> pki_;
  std::unique_ptr<dovecot_server> dovecot_;
  std::unique_ptr<postfix_peer> postfix_;
};

TEST_F(delivery_readback, inbox_with_latency_verdict_and_nothing_left_behind) {
  ::setenv("SMTP_TEST_IMAP_PASSWORD", dovecot_->options().password.c_str(), 1);
  exporter_process exporter(dir_, config("app@sender.test", "SMTP_TEST_IMAP_PASSWORD"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"app"}, "delivery", std::chrono::seconds(40));
  EXPECT_EQ(probe_result(text, "app", "delivery"), "success")
      << text << exporter.process().log() << postfix_->log();
  EXPECT_EQ(metric_value(text, "smtp_delivery_messages_sent_total", {{"target", "app"}}), 1);
  EXPECT_EQ(metric_value(text, "smtp_delivery_folder_info", {{"target", "app"}, {"folder", "inbox"}}), 1);
  const auto latency = metric_value(text, "smtp_delivery_latency_seconds", {{"target", "app"}});
  ASSERT_TRUE(latency) << text;
  EXPECT_GE(*latency, 0);
  EXPECT_LT(*latency, 20);
  for (const auto& [method, result] :
       {std::pair<std::string, std::string>{"spf", "fail"}, {"dkim", "none"}, {"dmarc", "fail"}}) {
    EXPECT_EQ(metric_value(text, "smtp_delivery_auth_result_info",
                           {{"target", "app"}, {"method", method}, {"result", result}}),
              1)
        << method << "\n" << text;
  }
  EXPECT_EQ(dovecot_->count_messages("INBOX"), 0u);
  EXPECT_EQ(dovecot_->count_messages("Junk"), 0u);
  // The read-back's steps in the phase metric, beside the session's data phase.
  for (const char* phase : {"data", "imap_login", "imap_search", "imap_fetch", "imap_delete"}) {
    EXPECT_TRUE(metric_value(text, "smtp_probe_phase_duration_seconds",
                             {{"target", "app"}, {"phase", phase}}))
        << phase;
  }
  // Sent once per delivery interval (10m), whatever the other probes' interval (2s): two more
  // banner runs later, postfix has still accepted exactly one message.
  std::this_thread::sleep_for(std::chrono::seconds(5));
  text = exporter.scrape();
  EXPECT_EQ(metric_value(text, "smtp_delivery_messages_sent_total", {{"target", "app"}}), 1);
  EXPECT_EQ(postfix_->accepted_messages(), 1u) << postfix_->log();
  auto page = http_request(exporter.port(), "GET", "/probe/debug?target=app");
  EXPECT_NE(page.body.find("1 message(s) sent; the last found in <strong>inbox</strong>"),
            std::string::npos)
      << page.body;
  EXPECT_NE(page.body.find("spf=fail dkim=none dmarc=fail"), std::string::npos) << page.body;
}

TEST_F(delivery_readback, junk_is_delivered_to_junk) {
  ::setenv("SMTP_TEST_IMAP_PASSWORD", dovecot_->options().password.c_str(), 1);
  exporter_process exporter(dir_, config(dovecot_->options().junk_sender, "SMTP_TEST_IMAP_PASSWORD"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"app"}, "delivery", std::chrono::seconds(40));
  EXPECT_EQ(probe_result(text, "app", "delivery"), "delivered_to_junk") << text;
  EXPECT_EQ(metric_value(text, "smtp_delivery_folder_info", {{"target", "app"}, {"folder", "junk"}}), 1);
  EXPECT_EQ(dovecot_->count_messages("Junk"), 0u);
}

TEST_F(delivery_readback, a_wrong_imap_password_is_unknown_not_undelivered) {
  ::setenv("SMTP_TEST_IMAP_WRONG", "CANARY-wrong-imap-pw", 1);
  exporter_process exporter(dir_, config("app@sender.test", "SMTP_TEST_IMAP_WRONG"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"app"}, "delivery", std::chrono::seconds(40));
  EXPECT_EQ(probe_result(text, "app", "delivery"), "imap_auth_rejected")
      << text << exporter.process().log();
  EXPECT_EQ(text.find("CANARY-wrong-imap-pw"), std::string::npos);
  EXPECT_EQ(exporter.process().log().find("CANARY-wrong-imap-pw"), std::string::npos);
}

// `diagnose --deliver-to`, against the same mail system: a message postfix holds is not_delivered
// at the deadline (exit status 9); released, it arrives late, and the next read-back deletes it as
// stale before finding its own message in the Inbox. The mailbox is left empty.
TEST_F(delivery_readback, diagnose_deliver_to_reports_held_mail_then_removes_it_when_late) {
  const auto cfg = config("app@sender.test", "SMTP_TEST_IMAP_PASSWORD");
  const auto to = dovecot_->options().user;
  auto held = diagnose(cfg, {"--deliver-to", to, "--mail-from", "held@sender.test",
                             "--delivery-deadline", "3s"});
  EXPECT_EQ(held.status, 9) << held.out << held.err << postfix_->log();
  EXPECT_NE(held.out.find("read-back: imaps 127.0.0.1:"), std::string::npos) << held.out;
  EXPECT_NE(held.out.find("-> not_delivered"), std::string::npos) << held.out;
  EXPECT_EQ(held.out.find(dovecot_->options().password), std::string::npos);
  EXPECT_EQ(held.err.find(dovecot_->options().password), std::string::npos);

  ASSERT_TRUE(postfix_->release_held()) << postfix_->log();
  ASSERT_TRUE(wait_for_messages("INBOX", 1, std::chrono::seconds(20))) << postfix_->log();
  // Stale means older than the run's deadline, by arrival (IMAP INTERNALDATE, whole seconds).
  std::this_thread::sleep_for(std::chrono::seconds(6));

  auto ok = diagnose(cfg, {"--deliver-to", to, "--delivery-deadline", "4s", "--output", "json"});
  ASSERT_EQ(ok.status, 0) << ok.out << ok.err << postfix_->log();
  auto doc = boost::json::parse(ok.out).as_object();
  const auto& delivery = doc["ports"].as_array().at(0).as_object().at("delivery").as_object();
  EXPECT_EQ(delivery.at("result").as_string(), "success") << ok.out;
  EXPECT_EQ(delivery.at("folder").as_string(), "inbox");
  EXPECT_EQ(delivery.at("stale_removed").as_int64(), 1) << ok.out;
  EXPECT_EQ(delivery.at("deleted").as_bool(), true);
  EXPECT_GE(delivery.at("latency_seconds").as_double(), 0);
  EXPECT_EQ(delivery.at("auth_results").as_object().at("dmarc").as_string(), "fail") << ok.out;
  EXPECT_EQ(dovecot_->count_messages("INBOX"), 0u);
  EXPECT_EQ(dovecot_->count_messages("Junk"), 0u);
  EXPECT_EQ(postfix_->accepted_messages(), 2u) << postfix_->log();
}

// Without --deliver-to, diagnose never sends a message, even for a target with [target.delivery].
TEST_F(delivery_readback, diagnose_sends_nothing_without_deliver_to) {
  auto r = diagnose(config("app@sender.test", "SMTP_TEST_IMAP_PASSWORD"), {});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out.find("read-back"), std::string::npos) << r.out;
  EXPECT_EQ(postfix_->accepted_messages(), 0u) << postfix_->log();
}

}  // namespace
}  // namespace smtp_test
