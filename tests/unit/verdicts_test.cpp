// The reason table, row by row: what happened -> reason, code, enhanced code, policy flag, and the
// detail's wording. A reason that no row produces fails the test, so a new reason comes with its
// row; a timeout whose detail carries a library's text instead of ours fails it too (issue 15).
#include "probes/core/verdicts.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>

#include <boost/asio/error.hpp>
#include <openssl/x509_vfy.h>

namespace smtp_exporter::probes {
namespace {

using namespace std::chrono_literals;
namespace error = boost::asio::error;

const io_context_facts facts{"127.0.0.1:12598", 2000ms, "Operation canceled"};

struct row {
  const char* name;
  std::function<verdict()> happened;
  failure_reason reason;
  int code = 0;
  const char* enhanced = "";
  bool policy = false;
  const char* detail_has = "";  // a phrase the detail must contain
};

verdict reply(smtp_step s, int code, std::string_view enhanced = "", std::string_view text = "x") {
  return on_reply(s, code, enhanced, text);
}

tls_facts verify_failed(failure_reason r) {
  tls_facts t;
  t.verify_reason = r;
  t.verify_error = "certificate has expired";
  return t;
}

const std::vector<row>& rows() {
  using fr = failure_reason;
  static const std::vector<row> table{
      // Replies that pass.
      {"greeting_220", [] { return reply(smtp_step::greeting, 220); }, fr::none, 220},
      {"ehlo_250", [] { return reply(smtp_step::ehlo, 250); }, fr::none, 250},
      {"starttls_220", [] { return reply(smtp_step::starttls, 220, "2.0.0"); }, fr::none, 220, "2.0.0"},
      {"auth_235", [] { return reply(smtp_step::auth, 235, "2.7.0"); }, fr::none, 235, "2.7.0"},
      {"mail_250", [] { return reply(smtp_step::mail_from, 250, "2.1.0"); }, fr::none, 250, "2.1.0"},
      {"rcpt_251", [] { return reply(smtp_step::rcpt_to, 251, "2.1.5"); }, fr::none, 251, "2.1.5"},
      // Greeting.
      {"greeting_554", [] { return reply(smtp_step::greeting, 554, "", "blocked"); },
       fr::banner_rejected, 554, "", true, "554 blocked"},
      {"greeting_550_571", [] { return reply(smtp_step::greeting, 550, "5.7.1"); },
       fr::banner_rejected, 550, "5.7.1", true},
      {"greeting_550", [] { return reply(smtp_step::greeting, 550); }, fr::banner_rejected, 550},
      {"greeting_421", [] { return reply(smtp_step::greeting, 421, "4.3.2"); },
       fr::banner_tempfail, 421, "4.3.2"},
      {"greeting_250", [] { return reply(smtp_step::greeting, 250); }, fr::protocol_error, 250, "",
       false, "unexpected reply"},
      // EHLO, STARTTLS.
      {"ehlo_550", [] { return reply(smtp_step::ehlo, 550); }, fr::ehlo_rejected, 550},
      {"ehlo_421_471", [] { return reply(smtp_step::ehlo, 421, "4.7.1"); }, fr::ehlo_rejected, 421,
       "4.7.1", false},
      {"starttls_454", [] { return reply(smtp_step::starttls, 454, "4.7.0"); },
       fr::starttls_rejected, 454, "4.7.0", false},
      // AUTH.
      {"auth_535_578", [] { return reply(smtp_step::auth, 535, "5.7.8"); }, fr::auth_rejected, 535,
       "5.7.8", false},
      // Replies naming an account setting (issue 20): not a wrong password, not this client.
      {"auth_535_57139", [] { return reply(smtp_step::auth, 535, "5.7.139"); },
       fr::auth_basic_disabled, 535, "5.7.139", false},
      {"auth_550_5730", [] { return reply(smtp_step::auth, 550, "5.7.30"); },
       fr::auth_basic_disabled, 550, "5.7.30", false},
      {"auth_534_579", [] { return reply(smtp_step::auth, 534, "5.7.9"); },
       fr::auth_app_password_required, 534, "5.7.9", false},
      {"auth_534_5714", [] { return reply(smtp_step::auth, 534, "5.7.14"); },
       fr::auth_web_login_required, 534, "5.7.14", false},
      // An access token the endpoint issued (issue 20): a refusal is the token's, never a
      // password's nor a policy; the decoded challenge goes into the detail.
      {"auth_token_535_578",
       [] {
         return on_auth_reply(535, "5.7.8", "Username and Password not accepted",
                              auth_secret::issued_token,
                              "status 401, scope https://mail.google.com/, schemes bearer");
       },
       fr::auth_token_rejected, 535, "5.7.8", false,
       "refused the access token the token endpoint issued: 535 Username and Password not "
       "accepted; the server's error challenge: status 401, scope https://mail.google.com/"},
      {"auth_token_535_57139",  // Microsoft: SMTP AUTH disabled for the mailbox or tenant
       [] {
         return on_auth_reply(535, "5.7.139", "SmtpClientAuthentication is disabled",
                              auth_secret::issued_token, "");
       },
       fr::auth_token_rejected, 535, "5.7.139", false, "SmtpClientAuthentication is disabled"},
      {"auth_token_550_571",
       [] { return on_auth_reply(550, "5.7.1", "x", auth_secret::issued_token, ""); },
       fr::auth_token_rejected, 550, "5.7.1", false},
      {"auth_token_235",
       [] { return on_auth_reply(235, "2.7.0", "ok", auth_secret::issued_token, ""); }, fr::none,
       235, "2.7.0"},
      {"auth_token_454",
       [] { return on_auth_reply(454, "4.7.0", "try later", auth_secret::issued_token, ""); },
       fr::auth_tempfail, 454, "4.7.0", true},
      {"auth_token_504",
       [] { return on_auth_reply(504, "5.5.4", "x", auth_secret::issued_token, ""); },
       fr::auth_unsupported, 504, "5.5.4"},
      {"auth_token_530",
       [] { return on_auth_reply(530, "5.7.0", "x", auth_secret::issued_token, ""); },
       fr::auth_requires_tls, 530, "5.7.0", true},
      // The same replies to a password (or a token_file) keep their reasons.
      {"auth_password_535_578",
       [] {
         return on_auth_reply(535, "5.7.8", "x", auth_secret::password,
                              "status 401, scope https://mail.google.com/");
       },
       fr::auth_rejected, 535, "5.7.8", false, "AUTH refused: 535 x; the server's error challenge: "
       "status 401"},
      {"auth_password_535_57139",
       [] { return on_auth_reply(535, "5.7.139", "x", auth_secret::password, ""); },
       fr::auth_basic_disabled, 535, "5.7.139"},
      // The token endpoint gave no token: its detail, the error class first, as is.
      {"token_invalid_grant",
       [] {
         return on_token_unavailable(
             "invalid_grant: token endpoint answered HTTP 400 (AADSTS700082: The refresh token "
             "has expired due to inactivity.)");
       },
       fr::oauth2_token_unavailable, 0, "", false, "invalid_grant: token endpoint answered HTTP 400"},
      {"token_no_detail", [] { return on_token_unavailable(""); }, fr::oauth2_token_unavailable, 0,
       "", false, "unknown"},
      // The same codes to MAIL FROM are that step's refusals.
      {"mail_550_5730", [] { return reply(smtp_step::mail_from, 550, "5.7.30"); },
       fr::sender_rejected, 550, "5.7.30", true},
      {"auth_454", [] { return reply(smtp_step::auth, 454, "4.3.0"); }, fr::auth_tempfail, 454,
       "4.3.0"},
      {"auth_530", [] { return reply(smtp_step::auth, 530, "5.7.0"); }, fr::auth_requires_tls, 530,
       "5.7.0", true},
      {"auth_538", [] { return reply(smtp_step::auth, 538); }, fr::auth_requires_tls, 538},
      {"auth_504", [] { return reply(smtp_step::auth, 504, "5.5.4"); }, fr::auth_unsupported, 504,
       "5.5.4"},
      {"auth_534", [] { return reply(smtp_step::auth, 534); }, fr::auth_unsupported, 534},
      {"auth_250", [] { return reply(smtp_step::auth, 250); }, fr::protocol_error, 250},
      // MAIL FROM.
      {"mail_550_571", [] { return reply(smtp_step::mail_from, 550, "5.7.1", "not a verified Sender Identity"); },
       fr::sender_rejected, 550, "5.7.1", true, "MAIL FROM refused: 550"},
      {"mail_553", [] { return reply(smtp_step::mail_from, 553, "5.1.8"); }, fr::sender_rejected,
       553, "5.1.8"},
      {"mail_451", [] { return reply(smtp_step::mail_from, 451, "4.3.0"); }, fr::sender_tempfail,
       451, "4.3.0"},
      {"mail_354", [] { return reply(smtp_step::mail_from, 354); }, fr::protocol_error, 354},
      // RCPT TO.
      {"rcpt_550_571", [] { return reply(smtp_step::rcpt_to, 550, "5.7.1", "blocked using Spamhaus"); },
       fr::recipient_rejected, 550, "5.7.1", true, "Spamhaus"},
      {"rcpt_550_511", [] { return reply(smtp_step::rcpt_to, 550, "5.1.1"); },
       fr::recipient_rejected, 550, "5.1.1", false},
      {"rcpt_421_470", [] { return reply(smtp_step::rcpt_to, 421, "4.7.0", "IP not in whitelist"); },
       fr::recipient_tempfail, 421, "4.7.0", true},
      {"rcpt_450", [] { return reply(smtp_step::rcpt_to, 450, "4.2.1"); }, fr::recipient_tempfail,
       450, "4.2.1"},
      // DATA and end of data (the delivery probe, issue 21).
      {"data_354", [] { return reply(smtp_step::data, 354); }, fr::none, 354},
      {"data_250_is_out_of_turn", [] { return reply(smtp_step::data, 250); }, fr::protocol_error, 250},
      {"data_554_571", [] { return reply(smtp_step::data, 554, "5.7.1", "relay denied"); },
       fr::data_rejected, 554, "5.7.1", true, "DATA refused"},
      {"data_end_250", [] { return reply(smtp_step::data_end, 250, "2.0.0", "OK queued as 1A2B"); },
       fr::none, 250, "2.0.0"},
      // Gmail: unauthenticated sender (DMARC), a refusal of this sender by policy.
      {"data_end_550_5726",
       [] { return reply(smtp_step::data_end, 550, "5.7.26", "Unauthenticated email is not accepted"); },
       fr::data_rejected, 550, "5.7.26", true, "end of data refused: 550"},
      // Gmail's rate limit: temporary.
      {"data_end_421_4728", [] { return reply(smtp_step::data_end, 421, "4.7.28", "rate limited"); },
       fr::data_tempfail, 421, "4.7.28", true},
      {"data_end_552", [] { return reply(smtp_step::data_end, 552, "5.3.4", "too big"); },
       fr::data_rejected, 552, "5.3.4", false},
      // The read-back over IMAP (after the session): Inbox is success, an IMAP failure is unknown.
      {"readback_inbox", [] { return on_readback(readback_finding::inbox, "INBOX"); }, fr::none, 0},
      {"readback_junk", [] { return on_readback(readback_finding::junk, "Junk"); },
       fr::delivered_to_junk, 0, "", false, "Junk mailbox Junk"},
      {"readback_not_found", [] { return on_readback(readback_finding::not_found, "5 min"); },
       fr::not_delivered, 0, "", false, "by the deadline"},
      {"readback_connect", [] { return on_readback(readback_finding::imap_connect_failed, "refused"); },
       fr::imap_connect_failed, 0, "", false, "delivery unknown"},
      {"readback_connect_timeout",
       [] { return on_readback(readback_finding::imap_connect_timeout, "no answer"); },
       fr::imap_connect_timeout, 0, "", false, "delivery unknown"},
      {"readback_certificate",
       [] { return on_readback(readback_finding::imap_tls_certificate, "untrusted"); },
       fr::imap_tls_certificate},
      {"readback_tls", [] { return on_readback(readback_finding::imap_tls_failed, "handshake"); },
       fr::imap_tls_failed},
      {"readback_login", [] { return on_readback(readback_finding::imap_auth_rejected, "NO"); },
       fr::imap_auth_rejected, 0, "", false, "delivery unknown"},
      {"readback_protocol", [] { return on_readback(readback_finding::imap_protocol_error, "BAD"); },
       fr::imap_protocol_error},
      {"readback_timeout", [] { return on_readback(readback_finding::imap_timeout, "stalled"); },
       fr::imap_timeout},
      // Resolve and connect.
      {"resolve", [] { return on_resolve_failure("smtp.invalid", "Domain name not found", 2000ms); },
       fr::resolve_failed, 0, "", false, "no address for smtp.invalid (Domain name not found)"},
      {"resolve_deadline", [] { return on_resolve_failure("smtp.example", "deadline exceeded", 2000ms); },
       fr::resolve_failed, 0, "", false, "no answer from the DNS servers for smtp.example within 2 s"},
      {"resolve_cares_timeout",
       [] { return on_resolve_failure("smtp.example", "Timeout while contacting DNS servers", 2000ms); },
       fr::resolve_failed, 0, "", false, "the DNS servers gave no answer for smtp.example"},
      {"connect_deadline", [] { return on_connect_failure(net_error::deadline, facts); },
       fr::connect_timeout, 0, "", false, "no answer from 127.0.0.1:12598 within 2 s"},
      {"connect_kernel_timeout", [] { return on_connect_failure(net_error::timed_out, facts); },
       fr::connect_timeout, 0, "", false, "no answer from 127.0.0.1:12598"},
      {"connect_refused", [] { return on_connect_failure(net_error::refused, facts); },
       fr::connect_refused, 0, "", false, "127.0.0.1:12598 refused the connection"},
      {"connect_unreachable", [] { return on_connect_failure(net_error::unreachable, facts); },
       fr::connect_unreachable, 0, "", false, "no route to 127.0.0.1:12598"},
      {"connect_other", [] { return on_connect_failure(net_error::other, facts); },
       fr::connect_unreachable},
      // A firewall's ICMP answer (issue 24): who said no, in the detail.
      {"connect_admin_prohibited",
       [] {
         static const icmp_report icmp{4, 3, 13, "192.0.2.1"};
         return on_connect_failure(net_error::prohibited,
                                   {"192.0.2.2:587", 2000ms, "No route to host", &icmp});
       },
       fr::connect_prohibited, 0, "", false,
       "a firewall refused the connection to 192.0.2.2:587 (ICMP communication administratively "
       "prohibited from 192.0.2.1)"},
      {"connect_admin_prohibited_v6",
       [] {
         static const icmp_report icmp{6, 1, 1, "2001:db8::1"};
         return on_connect_failure(net_error::prohibited,
                                   {"[2001:db8::2]:587", 2000ms, "Permission denied", &icmp});
       },
       fr::connect_prohibited, 0, "", false,
       "(ICMPv6 administratively prohibited from 2001:db8::1): a filter said no"},
      {"connect_local_rule",
       [] {
         return on_connect_failure(net_error::prohibited,
                                   {"192.0.2.2:587", 2000ms, "Operation not permitted"});
       },
       fr::connect_prohibited, 0, "", false, "(Operation not permitted: a rule of this machine"},
      {"connect_host_unreachable_icmp",
       [] {
         static const icmp_report icmp{4, 3, 1, "192.0.2.1"};
         return on_connect_failure(net_error::unreachable,
                                   {"192.0.2.2:587", 2000ms, "No route to host", &icmp});
       },
       fr::connect_unreachable, 0, "", false,
       "no route to 192.0.2.2:587 (ICMP host unreachable from 192.0.2.1)"},
      // Out of descriptors: the exporter's fault, said so.
      {"connect_no_descriptors", [] { return on_connect_failure(net_error::no_descriptors, facts); },
       fr::descriptors_exhausted, 0, "", false, "connect: this process has no free file descriptor"},
      {"resolve_no_descriptors", [] { return on_descriptors_exhausted(phase::resolve); },
       fr::descriptors_exhausted, 0, "", false, "not the server"},
      // I/O after connecting.
      {"greeting_deadline", [] { return on_io_failure(phase::banner, net_error::deadline, facts); },
       fr::banner_timeout, 0, "", false, "greeting: no answer from 127.0.0.1:12598 within 2 s"},
      {"starttls_deadline", [] { return on_io_failure(phase::starttls, net_error::deadline, facts); },
       fr::tls_timeout, 0, "", false, "within 2 s"},
      {"handshake_deadline",
       [] { return on_io_failure(phase::tls_handshake, net_error::deadline, facts); },
       fr::tls_timeout, 0, "", false, "within 2 s"},
      {"ehlo_deadline", [] { return on_io_failure(phase::ehlo, net_error::deadline, facts); },
       fr::timeout, 0, "", false, "ehlo: no answer"},
      {"rcpt_deadline", [] { return on_io_failure(phase::rcpt_to, net_error::deadline, facts); },
       fr::timeout, 0, "", false, "RCPT TO: no answer"},
      {"handshake_alert",
       [] {
         return on_io_failure(phase::tls_handshake, net_error::other,
                              {"127.0.0.1:465", 2000ms, "sslv3 alert handshake failure"});
       },
       fr::tls_handshake_failed, 0, "", false, "alert handshake failure"},
      {"handshake_eof", [] { return on_io_failure(phase::tls_handshake, net_error::closed, facts); },
       fr::tls_handshake_failed},
      {"ehlo_eof", [] { return on_io_failure(phase::ehlo, net_error::closed, facts); },
       fr::connection_closed, 0, "", false, "127.0.0.1:12598 closed the connection"},
      {"auth_reset", [] { return on_io_failure(phase::auth, net_error::reset, facts); },
       fr::connection_closed, 0, "", false, "reset the connection"},
      {"malformed",
       [] {
         return on_io_failure(phase::banner, net_error::malformed,
                              {"127.0.0.1:25", 2000ms, "malformed reply line: \"HTTP/1.1\""});
       },
       fr::protocol_error, 0, "", false, "not SMTP"},
      // TLS verification.
      {"verified", [] { return on_verification(tls_facts{}, true); }, fr::none},
      {"expired", [] { return on_verification(verify_failed(fr::cert_expired), true); },
       fr::cert_expired, 0, "", false, "certificate has expired"},
      {"not_yet_valid", [] { return on_verification(verify_failed(fr::cert_not_yet_valid), true); },
       fr::cert_not_yet_valid},
      {"untrusted", [] { return on_verification(verify_failed(fr::cert_untrusted), true); },
       fr::cert_untrusted},
      {"no_handshake", [] { return on_verification(tls_facts{}, false); }, fr::cert_untrusted},
      {"mismatch", [] { return on_verification(verify_failed(fr::cert_hostname_mismatch), true); },
       fr::cert_hostname_mismatch},
      // Our own refusals.
      {"starttls_not_advertised", [] { return on_refusal(refusal::starttls_not_advertised); },
       fr::starttls_unsupported},
      {"no_tls_context", [] { return on_refusal(refusal::no_tls_context); },
       fr::tls_handshake_failed},
      {"credentials_need_tls", [] { return on_refusal(refusal::credentials_need_tls); },
       fr::auth_requires_tls, 0, "", false, "allow_plaintext"},
      {"credentials_need_verified_tls",
       [] { return on_refusal(refusal::credentials_need_verified_tls); },
       fr::unverified_tls_refused, 0, "", false, "allow_unverified_credentials"},
      {"no_credentials", [] { return on_refusal(refusal::no_credentials_configured); },
       fr::auth_unsupported},
      {"auth_not_advertised", [] { return on_refusal(refusal::auth_not_advertised); },
       fr::auth_unsupported},
      {"mechanism_not_offered", [] { return on_refusal(refusal::mechanism_not_offered, "CRAM-MD5"); },
       fr::auth_unsupported, 0, "", false, "CRAM-MD5 not offered"},
      {"no_usable_mechanism", [] { return on_refusal(refusal::no_usable_mechanism); },
       fr::auth_unsupported},
      {"credentials_unreadable",
       [] { return on_refusal(refusal::credentials_unreadable, "password_file /x: not found"); },
       fr::credentials_unavailable, 0, "", false, "password_file /x"},
      {"unexpected_challenge", [] { return on_refusal(refusal::unexpected_challenge); },
       fr::protocol_error, 334},
      {"envelope_needs_tls", [] { return on_refusal(refusal::envelope_needs_tls); },
       fr::envelope_requires_tls},
      {"envelope_needs_verified_tls",
       [] { return on_refusal(refusal::envelope_needs_verified_tls); }, fr::unverified_tls_refused},
  };
  return table;
}

bool is_timeout(failure_reason r) {
  return r == failure_reason::connect_timeout || r == failure_reason::banner_timeout ||
         r == failure_reason::tls_timeout || r == failure_reason::timeout;
}

TEST(verdicts, every_row) {
  for (const auto& r : rows()) {
    SCOPED_TRACE(r.name);
    const verdict v = r.happened();
    EXPECT_EQ(v.reason, r.reason) << to_string(v.reason);
    EXPECT_EQ(v.reply_code, r.code);
    EXPECT_EQ(v.enhanced_code, r.enhanced);
    EXPECT_EQ(v.policy_rejected, r.policy);
    EXPECT_EQ(v.ok(), r.reason == failure_reason::none);
    if (v.ok()) {
      EXPECT_TRUE(v.detail.empty()) << v.detail;
    } else {
      EXPECT_FALSE(v.detail.empty());
    }
    EXPECT_NE(v.detail.find(r.detail_has), std::string::npos) << v.detail;
  }
}

TEST(verdicts, every_reason_is_produced_by_a_row) {
  std::set<failure_reason> produced;
  for (const auto& r : rows()) produced.insert(r.happened().reason);
  for (std::size_t i = 0; i < failure_reason_count; ++i) {
    const auto reason = static_cast<failure_reason>(i);
    EXPECT_TRUE(produced.count(reason)) << "no row produces " << to_string(reason)
                                        << ": add one (and decide it in probes/core/verdicts.cpp)";
  }
}

// Issue 15: a detail is in the user's terms. For a timeout, it names the peer and the time waited,
// and never carries a library's wording (the facts passed in carry Asio's "Operation canceled" on
// purpose: a verdict that echoed it would fail here).
TEST(verdicts, timeout_details_are_ours_not_the_librarys) {
  const char* library_texts[] = {"Operation canceled", "operation aborted", "Connection timed out",
                                 "deadline exceeded", "End of file", "asio", "system:"};
  for (const char* name : {"resolve_deadline", "resolve_cares_timeout"}) {
    for (const auto& r : rows()) {
      if (std::string(r.name) != name) continue;
      const verdict v = r.happened();
      for (const char* text : library_texts) EXPECT_EQ(v.detail.find(text), std::string::npos) << v.detail;
      EXPECT_EQ(v.detail.find("Timeout while"), std::string::npos) << v.detail;
    }
  }
  int timeouts = 0;
  for (const auto& r : rows()) {
    const verdict v = r.happened();
    if (!is_timeout(v.reason)) continue;
    ++timeouts;
    SCOPED_TRACE(r.name);
    EXPECT_NE(v.detail.find("no answer from 127.0.0.1:12598"), std::string::npos) << v.detail;
    for (const char* text : library_texts) {
      EXPECT_EQ(v.detail.find(text), std::string::npos) << v.detail;
    }
  }
  EXPECT_GE(timeouts, 6);
}

TEST(verdicts, token_unavailable_detail_starts_with_the_error_class) {
  for (const char* detail : {"invalid_client: token endpoint answered HTTP 401 (AADSTS7000215)",
                             "timeout: the token request did not finish within the probe's "
                             "deadline"}) {
    const verdict v = on_token_unavailable(detail);
    EXPECT_EQ(v.detail, detail);
    EXPECT_FALSE(v.policy_rejected);
  }
  // Endpoint text is server text: made printable.
  EXPECT_EQ(on_token_unavailable("http_error: \x1b[31m").detail.find('\x1b'), std::string::npos);
}

TEST(verdicts, classify_maps_asio_errors) {
  EXPECT_EQ(classify(error::operation_aborted, false), net_error::deadline);
  EXPECT_EQ(classify(error::eof, true), net_error::deadline) << "our deadline wins";
  EXPECT_EQ(classify(error::connection_refused, false), net_error::refused);
  EXPECT_EQ(classify(error::timed_out, false), net_error::timed_out);
  EXPECT_EQ(classify(error::host_unreachable, false), net_error::unreachable);
  EXPECT_EQ(classify(error::network_unreachable, false), net_error::unreachable);
  EXPECT_EQ(classify(error::eof, false), net_error::closed);
  EXPECT_EQ(classify(error::connection_reset, false), net_error::reset);
  EXPECT_EQ(classify(error::broken_pipe, false), net_error::reset);
  EXPECT_EQ(classify(error::no_buffer_space, false), net_error::other);
  EXPECT_EQ(classify(error::no_descriptors, false), net_error::no_descriptors);
  EXPECT_EQ(classify(boost::system::error_code(ENFILE, boost::system::system_category()), false),
            net_error::no_descriptors);
  // The same number in another category is not descriptor exhaustion.
  EXPECT_NE(classify(boost::system::error_code(ENFILE, boost::asio::error::get_netdb_category()),
                     false),
            net_error::no_descriptors);
}

// Issue 24: IPv4's admin-prohibited fails connect() with EHOSTUNREACH, like host-unreachable;
// the queued ICMP message decides. ICMPv6's arrives as EACCES, a local rule as EPERM.
TEST(verdicts, classify_connect_reads_the_icmp_message) {
  const auto eperm = boost::system::error_code(EPERM, boost::system::system_category());
  const icmp_report none{};
  const icmp_report admin4{4, 3, 13, "192.0.2.2"}, host4{4, 3, 1, ""}, net4{4, 3, 0, ""};
  const icmp_report host_prohibited4{4, 3, 10, ""}, port4{4, 3, 3, ""};
  const icmp_report admin6{6, 1, 1, ""}, route6{6, 1, 0, ""}, addr6{6, 1, 3, ""};
  const icmp_report policy6{6, 1, 5, ""}, reject6{6, 1, 6, ""}, frag4{4, 3, 4, ""};
  EXPECT_EQ(classify_connect(error::host_unreachable, false, none), net_error::unreachable);
  EXPECT_EQ(classify_connect(error::host_unreachable, false, admin4), net_error::prohibited);
  EXPECT_EQ(classify_connect(error::host_unreachable, false, host_prohibited4),
            net_error::prohibited);
  EXPECT_EQ(classify_connect(error::host_unreachable, false, host4), net_error::unreachable);
  EXPECT_EQ(classify_connect(error::network_unreachable, false, net4), net_error::unreachable);
  EXPECT_EQ(classify_connect(error::connection_refused, false, port4), net_error::refused);
  EXPECT_EQ(classify_connect(error::access_denied, false, none), net_error::prohibited);
  EXPECT_EQ(classify_connect(error::access_denied, false, admin6), net_error::prohibited);
  EXPECT_EQ(classify_connect(error::network_unreachable, false, route6), net_error::unreachable);
  EXPECT_EQ(classify_connect(error::host_unreachable, false, addr6), net_error::unreachable);
  EXPECT_EQ(classify_connect(error::access_denied, false, policy6), net_error::prohibited);
  EXPECT_EQ(classify_connect(error::access_denied, false, reject6), net_error::prohibited);
  EXPECT_EQ(classify_connect(eperm, false, none), net_error::prohibited);
  // Fragmentation needed says nothing of a refusal: the errno's reading stays.
  EXPECT_EQ(classify_connect(error::host_unreachable, false, frag4), net_error::unreachable);
  // Our deadline and our descriptors win over any message.
  EXPECT_EQ(classify_connect(error::operation_aborted, false, admin4), net_error::deadline);
  EXPECT_EQ(classify_connect(error::host_unreachable, true, admin4), net_error::deadline);
  EXPECT_EQ(classify_connect(error::no_descriptors, false, admin4), net_error::no_descriptors);
  // An ICMPv4 type that is not destination-unreachable (time exceeded) means nothing here.
  EXPECT_EQ(meaning_of(icmp_report{4, 11, 0, ""}), icmp_meaning::none);
  EXPECT_EQ(describe(icmp_report{4, 3, 14, ""}), "ICMP type 3 code 14");
  EXPECT_EQ(describe(admin6), "ICMPv6 administratively prohibited");
  EXPECT_EQ(describe(admin4), "ICMP communication administratively prohibited");
}

TEST(verdicts, policy_rule) {
  EXPECT_TRUE(is_policy_refusal(smtp_step::greeting, 554, ""));
  EXPECT_FALSE(is_policy_refusal(smtp_step::greeting, 550, ""));
  EXPECT_TRUE(is_policy_refusal(smtp_step::rcpt_to, 550, "5.7.1"));
  EXPECT_TRUE(is_policy_refusal(smtp_step::rcpt_to, 421, "4.7.0"));
  EXPECT_TRUE(is_policy_refusal(smtp_step::mail_from, 550, "5.7.26"));
  EXPECT_FALSE(is_policy_refusal(smtp_step::rcpt_to, 550, "5.1.1"));
  EXPECT_FALSE(is_policy_refusal(smtp_step::rcpt_to, 250, "2.7.0")) << "only refusals";
  EXPECT_FALSE(is_policy_refusal(smtp_step::auth, 535, "5.7.8")) << "a wrong password";
  EXPECT_TRUE(is_policy_refusal(smtp_step::auth, 535, "5.7.139"));
  EXPECT_FALSE(is_policy_refusal(smtp_step::ehlo, 550, "5.7.1")) << "not a listed stage";
  EXPECT_FALSE(is_policy_refusal(smtp_step::starttls, 454, "4.7.0"));
  EXPECT_FALSE(is_policy_refusal(smtp_step::rcpt_to, 550, "5.77"));
}

TEST(verdicts, server_text_is_made_printable_and_bounded) {
  std::string text = "blocked\x1b[31m";
  text += std::string(500, 'x');
  const verdict v = on_reply(smtp_step::rcpt_to, 550, "5.7.1", text);
  EXPECT_EQ(v.detail.find('\x1b'), std::string::npos);
  EXPECT_LT(v.detail.size(), 250u);
}

TEST(verdicts, durations_read_as_people_say_them) {
  EXPECT_EQ(say_duration(2000ms), "2 s");
  EXPECT_EQ(say_duration(1500ms), "1.5 s");
  EXPECT_EQ(say_duration(250ms), "250 ms");
}

TEST(verdicts, verification_order) {
  EXPECT_EQ(reason_for_verify_errors({}), failure_reason::none);
  EXPECT_EQ(reason_for_verify_errors({X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_CERT_HAS_EXPIRED}),
            failure_reason::cert_expired);
}

}  // namespace
}  // namespace smtp_exporter::probes
