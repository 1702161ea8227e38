// Every failure reason has a class, an exit code, a headline and advice; the seed's checklist
// shows up where it belongs.
#include "exporter/views/advice.hpp"

#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

using probes::failure_reason;
using probes::probe_kind;

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

advice_context context(failure_reason r, std::uint16_t port = 587) {
  advice_context c;
  c.reason = r;
  c.host = "smtp.example.com";
  c.port = port;
  c.openssl_version = "OpenSSL 3.0.99 test";
  return c;
}

TEST(advice, every_reason_has_text_and_a_class) {
  for (std::size_t i = 1; i < probes::failure_reason_count; ++i) {
    auto r = static_cast<failure_reason>(i);
    SCOPED_TRACE(std::string(probes::to_string(r)));
    EXPECT_FALSE(headline(r).empty());
    EXPECT_FALSE(advice_for(context(r)).empty());
    auto c = class_of(r, probe_kind::banner);
    EXPECT_NE(c, failure_class::none);
    EXPECT_GE(exit_code_for(c), 3);
    EXPECT_LE(exit_code_for(c), 9);
  }
  EXPECT_TRUE(headline(failure_reason::none).empty());
  EXPECT_TRUE(advice_for(context(failure_reason::none)).empty());
  EXPECT_EQ(exit_code_for(class_of(failure_reason::none, probe_kind::banner)), 0);
}

TEST(advice, exit_codes_per_class) {
  EXPECT_EQ(exit_code_for(class_of(failure_reason::resolve_failed, probe_kind::banner)), 3);
  EXPECT_EQ(exit_code_for(class_of(failure_reason::connect_timeout, probe_kind::banner)), 4);
  EXPECT_EQ(exit_code_for(class_of(failure_reason::connect_refused, probe_kind::banner)), 4);
  EXPECT_EQ(exit_code_for(class_of(failure_reason::connect_prohibited, probe_kind::banner)), 4);
  EXPECT_EQ(exit_code_for(class_of(failure_reason::connect_prohibited, probe_kind::auth)), 4);
  EXPECT_EQ(exit_code_for(class_of(failure_reason::banner_rejected, probe_kind::banner)), 5);
  EXPECT_EQ(exit_code_for(class_of(failure_reason::cert_untrusted, probe_kind::tls)), 6);
  EXPECT_EQ(exit_code_for(class_of(failure_reason::auth_rejected, probe_kind::auth)), 7);
  // The generic reasons belong to the stage that failed with them.
  EXPECT_EQ(class_of(failure_reason::protocol_error, probe_kind::banner), failure_class::smtp);
  EXPECT_EQ(class_of(failure_reason::connection_closed, probe_kind::tls), failure_class::tls);
  EXPECT_EQ(class_of(failure_reason::protocol_error, probe_kind::auth), failure_class::auth);
}

TEST(advice, follows_the_seed_checklist) {
  auto timeout = joined(advice_for(context(failure_reason::connect_timeout, 465)));
  EXPECT_NE(timeout.find("security group"), std::string::npos) << timeout;
  EXPECT_NE(timeout.find("iptables"), std::string::npos);
  EXPECT_NE(timeout.find("block outbound 25"), std::string::npos);
  EXPECT_NE(timeout.find("port 465"), std::string::npos);
  EXPECT_NE(timeout.find("telnet"), std::string::npos);

  auto refused = joined(advice_for(context(failure_reason::connect_refused)));
  EXPECT_NE(refused.find("REJECT"), std::string::npos);
  // Issue 24: a firewall's reset reads exactly as a closed port; the advice says so.
  EXPECT_NE(refused.find("look exactly the same"), std::string::npos) << refused;

  // A firewall's "no" is never "the server is down".
  auto prohibited = joined(advice_for(context(failure_reason::connect_prohibited, 587)));
  EXPECT_NE(prohibited.find("firewall"), std::string::npos) << prohibited;
  EXPECT_NE(prohibited.find("never \"server down\""), std::string::npos) << prohibited;
  EXPECT_NE(prohibited.find("outbound TCP 587"), std::string::npos) << prohibited;
  EXPECT_NE(headline(failure_reason::connect_prohibited).find("not the server"),
            std::string::npos);

  auto tls_stall = joined(advice_for(context(failure_reason::tls_timeout)));
  EXPECT_NE(tls_stall.find("MTU black hole"), std::string::npos) << tls_stall;

  auto rejected = joined(advice_for(context(failure_reason::banner_rejected)));
  EXPECT_NE(rejected.find("blacklist"), std::string::npos);

  for (auto r : {failure_reason::cert_untrusted, failure_reason::tls_handshake_failed}) {
    auto text = joined(advice_for(context(r)));
    EXPECT_NE(text.find("OpenSSL 3.0.99 test"), std::string::npos) << text;
    EXPECT_NE(text.find("CA store"), std::string::npos) << text;
  }
}

TEST(advice, authorization_code_for_qq_and_163_only) {
  auto c = context(failure_reason::auth_rejected);
  c.reply_code = 535;
  c.provider = config::find_provider("qq");
  auto qq = joined(advice_for(c));
  EXPECT_NE(qq.find("authorization code"), std::string::npos) << qq;
  EXPECT_NE(qq.find("535"), std::string::npos);
  c.provider = config::find_provider("163");
  EXPECT_NE(joined(advice_for(c)).find("authorization code"), std::string::npos);
  c.provider = config::find_provider("gmail");
  EXPECT_EQ(joined(advice_for(c)).find("authorization code"), std::string::npos);
}

// Issue 20: each OAuth failure says what to do for its cause, and the password advice does not
// follow a token.
TEST(advice, oauth_reasons_name_their_causes) {
  const auto unavailable = joined(advice_for(context(failure_reason::oauth2_token_unavailable)));
  for (const char* part : {"invalid_grant", "Consent again and replace the refresh token",
                           "invalid_client", "client secret is wrong or expired", "token_url"}) {
    EXPECT_NE(unavailable.find(part), std::string::npos) << part << "\n" << unavailable;
  }
  auto c = context(failure_reason::auth_token_rejected);
  c.reply_code = 535;
  c.enhanced_code = "5.7.139";
  const auto rejected = joined(advice_for(c));
  for (const char* part : {"(535 5.7.139)", "Scope", "SmtpClientAuthenticationDisabled",
                           "SMTP.SendAsApp", "New-ServicePrincipal"}) {
    EXPECT_NE(rejected.find(part), std::string::npos) << part << "\n" << rejected;
  }
  EXPECT_EQ(rejected.find("password"), std::string::npos) << rejected;
  EXPECT_NE(joined(advice_for(context(failure_reason::auth_basic_disabled)))
                .find("[target.auth.oauth2]"),
            std::string::npos);
  EXPECT_EQ(class_of(failure_reason::oauth2_token_unavailable, probe_kind::auth),
            failure_class::auth);
  EXPECT_EQ(class_of(failure_reason::auth_token_rejected, probe_kind::auth), failure_class::auth);
}

TEST(advice, plain_text_probe_of_an_implicit_tls_port) {
  auto c = context(failure_reason::banner_timeout, 465);
  EXPECT_NE(joined(advice_for(c)).find("--tls implicit"), std::string::npos);
  c.mode = config::tls_mode::implicit;
  EXPECT_EQ(joined(advice_for(c)).find("--tls implicit"), std::string::npos);
}

TEST(advice, openssl_version_is_the_running_library) {
  EXPECT_EQ(openssl_version().rfind("OpenSSL 3", 0), 0u) << openssl_version();
}

}  // namespace
}  // namespace smtp_exporter::exporter
