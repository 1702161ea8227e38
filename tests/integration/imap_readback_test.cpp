// probes/imap/readback against a real Dovecot (tests/support/dovecot.*): where the delivery probe's
// message landed (INBOX or Junk, or nowhere by the deadline), its trusted Authentication-Results,
// and the mailbox left clean. Mail arrives over LMTP, some of it while the read-back polls.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <optional>
#include <thread>

#include "probes/imap/readback.hpp"
#include "probes/tls/context.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/dovecot.hpp"
#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

namespace asio = boost::asio;
namespace imap = smtp_exporter::probes::imap;
using clock_type = std::chrono::steady_clock;

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string probe_message(const std::string& from, const std::string& probe_id,
                          const std::string& extra_headers = "") {
  return extra_headers + "From: <" + from + ">\r\nTo: <probe@mx.test>\r\n"
         "Subject: smtp_exporter delivery probe for app\r\nDate: Mon, 07 Dec 2026 13:00:00 +0000\r\n"
         "Message-ID: <" + probe_id + "@example.com>\r\nX-SMTP-Exporter-Probe: " + probe_id +
         "\r\n\r\nA probe message.\r\n";
}

class imap_readback : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!dovecot_server::available()) GTEST_SKIP() << "needs root, dovecot and swaks";
    pki_ = std::make_unique<test_pki>(dir_.path() / "pki");
    dovecot_ = std::make_unique<dovecot_server>(dir_, pki_->valid.chain_file, pki_->valid.key_file);
    ASSERT_TRUE(dovecot_->started()) << dovecot_->log();
  }

  imap::readback_options options() const {
    imap::readback_options o;
    o.imap.host = "mx.test";
    o.imap.address = "127.0.0.1";
    o.imap.port = dovecot_->imaps_port();
    std::string error;
    o.imap.tls_context =
        smtp_exporter::probes::make_client_context({pki_->root_file.string(), "", ""}, error);
    o.imap.username = dovecot_->options().user;
    o.imap.password =
        std::make_shared<const smtp_exporter::secret_string>(dovecot_->options().password);
    o.trusted_authserv_id = "mx.test";
    o.first_poll = std::chrono::milliseconds(200);
    o.max_poll = std::chrono::milliseconds(800);
    return o;
  }

  void deliver(const std::string& from, const std::string& id, const std::string& extra = "") {
    std::string transcript;
    ASSERT_TRUE(dovecot_->deliver_lmtp(from, probe_message(from, id, extra), &transcript))
        << transcript << dovecot_->log();
  }

  // Runs a read-back to completion; `during` runs on a thread once it has started (mail that
  // arrives while it polls).
  imap::readback_result read(const imap::readback_options& o, const std::string& id,
                             double accepted_at, std::chrono::milliseconds deadline,
                             std::function<void()> during = {}) {
    asio::io_context io;
    std::optional<imap::readback_result> out;
    asio::co_spawn(io, imap::read_back(io.get_executor(), o, id, accepted_at, clock_type::now() + deadline),
                   [&](std::exception_ptr e, imap::readback_result r) {
                     if (!e) out = std::move(r);
                   });
    std::thread side;
    if (during) side = std::thread(during);
    io.run();
    if (side.joinable()) side.join();
    EXPECT_TRUE(out.has_value());
    return out.value_or(imap::readback_result{});
  }

  temp_dir dir_;
  std::unique_ptr<test_pki> pki_;
  std::unique_ptr<dovecot_server> dovecot_;
};

TEST_F(imap_readback, inbox_with_latency_the_trusted_verdict_and_nothing_left) {
  // The receiving server's header on top; below it one a sender forged with the same id, and one
  // of another authserv-id: only the top trusted one counts.
  const std::string headers =
      "Authentication-Results: relay.other.example; spf=pass smtp.mailfrom=app@example.com\r\n"
      "Authentication-Results: mx.test; spf=fail (not permitted) smtp.mailfrom=app@example.com;\r\n"
      " dkim=none; dmarc=fail header.from=example.com\r\n"
      "Authentication-Results: mx.test; spf=pass; dkim=pass; dmarc=pass\r\n";
  const double accepted_at = unix_now();
  auto r = read(options(), "app-1-aa", accepted_at, std::chrono::seconds(20), [&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    deliver("app@example.com", "app-1-aa", headers);
  });
  EXPECT_EQ(r.outcome, imap::readback_outcome::inbox) << r.imap.detail;
  EXPECT_EQ(r.mailbox, "INBOX");
  // Delivered 1.2 s after the start: the latency is at least that, late by at most a poll gap.
  EXPECT_GE(r.latency_seconds, 1.2);
  EXPECT_LT(r.latency_seconds, 1.2 + 0.8 + 1.0);
  EXPECT_GE(r.polls, 2u);
  ASSERT_TRUE(r.verdict) << "no trusted Authentication-Results";
  ASSERT_TRUE(imap::find_method(*r.verdict, "spf"));
  EXPECT_EQ(imap::find_method(*r.verdict, "spf")->result, "fail");
  EXPECT_EQ(imap::find_method(*r.verdict, "dkim")->result, "none");
  EXPECT_EQ(imap::find_method(*r.verdict, "dmarc")->result, "fail");
  EXPECT_EQ(r.untrusted_headers, 1u);  // relay.other.example
  EXPECT_TRUE(r.deleted);
  EXPECT_EQ(dovecot_->count_messages("INBOX"), 0u);
}

TEST_F(imap_readback, junk_when_sieve_files_it_there) {
  deliver(dovecot_->options().junk_sender, "app-2-bb");
  auto r = read(options(), "app-2-bb", unix_now(), std::chrono::seconds(20));
  EXPECT_EQ(r.outcome, imap::readback_outcome::junk) << r.imap.detail;
  EXPECT_EQ(r.mailbox, "Junk");
  EXPECT_FALSE(r.verdict);  // no Authentication-Results at all
  EXPECT_EQ(dovecot_->count_messages("Junk"), 0u);
}

TEST_F(imap_readback, not_found_by_the_deadline_then_removed_as_stale) {
  // Another probe's message is there; this one never comes.
  deliver("app@example.com", "app-3-other");
  const auto started = clock_type::now();
  auto r = read(options(), "app-3-cc", unix_now(), std::chrono::seconds(2));
  EXPECT_EQ(r.outcome, imap::readback_outcome::not_found) << r.imap.detail;
  EXPECT_GE(clock_type::now() - started, std::chrono::seconds(2));
  EXPECT_LT(clock_type::now() - started, std::chrono::seconds(10));
  EXPECT_GE(r.polls, 2u);
  EXPECT_EQ(dovecot_->count_messages("INBOX"), 1u);  // not ours: left alone
  // A later run cleans up what arrived before its own deadline window.
  asio::io_context io;
  std::optional<imap::imap_result<std::size_t>> stale;
  asio::co_spawn(io,
                 imap::remove_stale(io.get_executor(), options(),
                                    std::chrono::system_clock::now() + std::chrono::minutes(1),
                                    clock_type::now() + std::chrono::seconds(20)),
                 [&](std::exception_ptr, imap::imap_result<std::size_t> v) { stale = v; });
  io.run();
  ASSERT_TRUE(stale);
  EXPECT_TRUE(stale->ok()) << stale->status.detail;
  EXPECT_EQ(stale->value, 1u);
  EXPECT_EQ(dovecot_->count_messages("INBOX"), 0u);
}

TEST_F(imap_readback, a_wrong_password_is_imap_failed_never_not_found) {
  auto o = options();
  o.imap.password = std::make_shared<const smtp_exporter::secret_string>(std::string_view("wrong-CANARY-pw"));
  auto r = read(o, "app-4-dd", unix_now(), std::chrono::seconds(5));
  EXPECT_EQ(r.outcome, imap::readback_outcome::imap_failed);
  EXPECT_EQ(r.imap.error, imap::imap_error::auth_rejected) << r.imap.detail;
  EXPECT_EQ(r.imap.detail.find("wrong-CANARY-pw"), std::string::npos) << r.imap.detail;
}

TEST(imap_readback_names, trusted_authserv_id_defaults_to_the_host_domain) {
  EXPECT_EQ(imap::trusted_authserv_id_for("imap.gmail.com"), "gmail.com");
  EXPECT_EQ(imap::trusted_authserv_id_for("outlook.office365.com"), "office365.com");
  EXPECT_EQ(imap::trusted_authserv_id_for("example.com"), "example.com");
  EXPECT_EQ(imap::trusted_authserv_id_for("127.0.0.1"), "127.0.0.1");
  std::size_t untrusted = 0;
  auto v = imap::trusted_verdict({"evil.example; spf=pass", "mx.example.com; spf=softfail"},
                                 "example.com", &untrusted);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->authserv_id, "mx.example.com");
  EXPECT_EQ(untrusted, 1u);
  // "notexample.com" is not under "example.com".
  EXPECT_FALSE(imap::trusted_verdict({"notexample.com; spf=pass"}, "example.com", nullptr));
}

}  // namespace
}  // namespace smtp_test
