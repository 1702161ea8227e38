// The auth probe with OAuth 2.0 tokens, at the probes level (issue 20, points 3 and 4): sessions
// run in-process (probes::run_session) with auth_options::token = a token_cache source that asks
// tests/peers/token_endpoint.py (HTTPS, the test's CA), against tests/peers/aiosmtpd_server.py
// --oauth-issued, which accepts XOAUTH2 and OAUTHBEARER only with a token that endpoint issued
// and that has not expired. The tokens and the refresh token are canaries: none may show in a
// result's detail, its redacted transcript, or the peers' logs.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.hpp"
#include "probes/oauth/token_cache.hpp"
#include "probes/smtp/session.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/token_endpoint.hpp"

namespace smtp_test {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
namespace oauth = smtp_exporter::probes::oauth;
namespace probes = smtp_exporter::probes;
using probes::failure_reason;
using probes::probe_kind;
using smtp_exporter::secret_string;

constexpr std::string_view user = "alice@example.test";
// Canaries: the endpoint's access tokens start with the first, the refresh token is the second.
constexpr std::string_view access_prefix = "CANARY-ACCESS-9e3b7d-";
constexpr std::string_view canary_refresh = "CANARY-REFRESH-41c0aa";
constexpr std::string_view canary_secret = "CANARY-SECRET-77f2e8";

std::string script(std::string_view extra = {}) {
  std::string s = R"({"token_prefix":")" + std::string(access_prefix) + R"(")";
  if (!extra.empty()) s += "," + std::string(extra);
  return s + "}";
}

// One token endpoint, the file of tokens it issued, a cache on the test's loop, and SMTP peers.
class oauth_sasl : public ::testing::Test {
 protected:
  void start_endpoint(const std::string& endpoint_script) {
    std::ofstream create(issued_);  // the peer reads it at each AUTH: it must exist first
    endpoint_ = std::make_unique<token_endpoint>(dir_, pki_.valid, endpoint_script, issued_);
    ASSERT_NE(endpoint_->port(), 0) << endpoint_->log();
  }

  std::shared_ptr<oauth::token_source> source() {
    oauth::credential c;
    c.flow = oauth::grant_kind::refresh_token;
    c.token_url = endpoint_->url();
    c.client_id = "client-1";
    c.client_secret = secret_string(canary_secret);
    c.refresh_token = secret_string(canary_refresh);
    c.scope = "https://mail.google.com/";
    c.ca_file = pki_.root_file.string();
    return cache_.source(std::move(c));
  }

  // An aiosmtpd peer offering `mechanisms`, accepting the tokens listed in `issued` for `user`.
  std::unique_ptr<child_process> start_peer(std::uint16_t& port, const std::string& mechanisms,
                                            std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--mechanisms", mechanisms, "--auth-user", std::string(user)};
    if (extra.empty()) extra = {"--oauth-issued", issued_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto peer = start_aiosmtpd(dir_, port, args);
    EXPECT_NE(port, 0) << peer->log();
    return peer;
  }

  probes::session_options options(std::uint16_t port, std::shared_ptr<oauth::token_source> token) {
    probes::session_options o;
    o.host = "127.0.0.1";
    o.port = port;
    o.mode = probes::transport::plain;
    o.allow_plaintext = true;  // loopback: no TLS needed to see the SASL exchange
    o.timeout = std::chrono::seconds(5);
    o.due[static_cast<std::size_t>(probe_kind::banner)] = true;
    o.due[static_cast<std::size_t>(probe_kind::auth)] = true;
    probes::auth_options auth;
    auth.credentials.username = std::string(user);
    auth.token = std::move(token);
    o.auth = std::move(auth);
    return o;
  }

  // Runs `n` sessions at once on the loop that also runs the cache; their results in order.
  std::vector<probes::session_result> run(const probes::session_options& o, int n = 1) {
    std::vector<std::optional<probes::session_result>> results(n);
    for (int i = 0; i < n; ++i) {
      asio::co_spawn(io_, probes::run_session(o, resolver_),
                     [&results, i](std::exception_ptr e, probes::session_result r) {
                       if (!e) results[i] = std::move(r);
                     });
    }
    io_.restart();
    io_.run_for(std::chrono::seconds(20));  // sessions have 5 s deadlines: a backstop
    std::vector<probes::session_result> out;
    for (auto& r : results) {
      EXPECT_TRUE(r.has_value()) << "a session did not finish";
      out.push_back(r.value_or(probes::session_result{}));
    }
    return out;
  }

  std::vector<std::string> issued_tokens() const {
    std::vector<std::string> out;
    std::ifstream in(issued_);
    for (std::string line; std::getline(in, line);) {
      out.emplace_back(json::parse(line).as_object().at("token").as_string());
    }
    return out;
  }

  // Neither a canary nor any token the endpoint issued, raw or as the SASL payloads carry it
  // (base64 of the whole XOAUTH2 / OAUTHBEARER message), appears in `text`.
  void expect_no_secret(const std::string& text, std::uint16_t peer_port,
                        const std::string& where) const {
    for (std::string_view canary : {std::string_view("CANARY"), std::string_view("9e3b7d"),
                                    canary_refresh, canary_secret, std::string_view("41c0aa")}) {
      EXPECT_EQ(text.find(canary), std::string::npos) << where << ": " << canary << "\n" << text;
    }
    for (const auto& token : issued_tokens()) {
      const std::string xoauth2 = "user=" + std::string(user) + "\x01" "auth=Bearer " + token +
                                  "\x01\x01";
      const std::string oauthbearer = "n,a=" + std::string(user) + ",\x01" "host=127.0.0.1\x01" +
                                      "port=" + std::to_string(peer_port) + "\x01" +
                                      "auth=Bearer " + token + "\x01\x01";
      for (const auto& payload : {token, xoauth2, oauthbearer}) {
        EXPECT_EQ(text.find(smtp_exporter::base64_encode(payload)), std::string::npos) << where;
      }
    }
  }

  void expect_clean(const probes::session_result& r, std::uint16_t peer_port,
                    const child_process& peer) const {
    std::string transcript;
    for (const auto& line : r.transcript) transcript += line + "\n";
    expect_no_secret(r.detail, peer_port, "detail");
    expect_no_secret(transcript, peer_port, "transcript");
    expect_no_secret(peer.log(), peer_port, "peer log");
    expect_no_secret(endpoint_->log(), peer_port, "endpoint log");
  }

  static std::string transcript_of(const probes::session_result& r) {
    std::string out;
    for (const auto& line : r.transcript) out += line + "\n";
    return out;
  }

  temp_dir dir_;
  test_pki pki_{dir_.path() / "pki"};
  fs::path issued_ = dir_.path() / "issued.jsonl";
  std::unique_ptr<token_endpoint> endpoint_;
  asio::io_context io_;
  probes::dns_resolver resolver_{io_.get_executor()};
  oauth::token_cache cache_{io_.get_executor(), quick_cache_options()};
};

const probes::probe_outcome& auth_of(const probes::session_result& r) {
  return r.outcome(probe_kind::auth);
}

// The auth probe failed with `reason` on `code` `enhanced`, and not as a policy refusal.
void expect_refusal(const probes::session_result& r, failure_reason reason, int code,
                    const char* enhanced) {
  const auto& auth = auth_of(r);
  EXPECT_EQ(auth.reason, reason) << probes::to_string(auth.reason) << ": " << r.detail;
  EXPECT_EQ(auth.reply_code, code);
  EXPECT_EQ(auth.enhanced_code, enhanced);
  EXPECT_FALSE(auth.policy_rejected);
}

TEST_F(oauth_sasl, xoauth2_and_oauthbearer_succeed_with_the_issued_token) {
  start_endpoint(script());
  auto token = source();
  std::uint16_t xoauth2_port = 0, both_port = 0;
  auto xoauth2_peer = start_peer(xoauth2_port, "XOAUTH2");
  auto both_peer = start_peer(both_port, "PLAIN,XOAUTH2,OAUTHBEARER");

  const auto a = run(options(xoauth2_port, token)).at(0);
  EXPECT_TRUE(auth_of(a).success()) << a.detail << "\n" << transcript_of(a) << xoauth2_peer->log();
  EXPECT_EQ(auth_of(a).reply_code, 235);
  EXPECT_NE(transcript_of(a).find("C: AUTH XOAUTH2 <redacted>"), std::string::npos)
      << transcript_of(a);
  EXPECT_NE(xoauth2_peer->log().find("AUTH XOAUTH2 user=b'alice@example.test': success"),
            std::string::npos)
      << xoauth2_peer->log();

  // Offered both (and PLAIN): OAUTHBEARER, with the host and port the token is meant for.
  const auto b = run(options(both_port, token)).at(0);
  EXPECT_TRUE(auth_of(b).success()) << b.detail << "\n" << transcript_of(b) << both_peer->log();
  EXPECT_NE(transcript_of(b).find("C: AUTH OAUTHBEARER <redacted>"), std::string::npos)
      << transcript_of(b);
  EXPECT_NE(both_peer->log().find("AUTH OAUTHBEARER user=b'alice@example.test' host=b'127.0.0.1' "
                                  "port=b'" + std::to_string(both_port) + "': success"),
            std::string::npos)
      << both_peer->log();
  EXPECT_NE(transcript_of(b).find("* oauth2 token ready in"), std::string::npos);

  EXPECT_EQ(endpoint_->count(), 1u) << "both sessions used the one cached token";
  expect_clean(a, xoauth2_port, *xoauth2_peer);
  expect_clean(b, both_port, *both_peer);
}

// Microsoft's tokens run to kilobytes: the message goes after an empty 334 (RFC 4954's 512-octet
// line), on a line of its own that neither the transcript nor the peer's debug log may show.
TEST_F(oauth_sasl, a_long_token_goes_after_the_334_and_stays_out_of_every_log) {
  start_endpoint(R"({"token_prefix":")" + std::string(access_prefix) + std::string(1500, 'x') +
                 R"("})");
  auto token = source();
  for (const char* mechanism : {"XOAUTH2", "OAUTHBEARER"}) {
    SCOPED_TRACE(mechanism);
    std::uint16_t port = 0;
    // --verbose: aiosmtpd's debug lines too (it masks AUTH lines and keeps responses unlogged).
    auto peer = start_peer(port, mechanism, {"--oauth-issued", issued_.string(), "--verbose"});
    const auto r = run(options(port, token)).at(0);
    EXPECT_TRUE(auth_of(r).success()) << r.detail << "\n" << transcript_of(r) << peer->log();
    EXPECT_NE(transcript_of(r).find("C: AUTH " + std::string(mechanism) + "\n"),
              std::string::npos)
        << transcript_of(r);
    EXPECT_NE(transcript_of(r).find("C: <redacted>"), std::string::npos) << transcript_of(r);
    expect_clean(r, port, *peer);
  }
}

TEST_F(oauth_sasl, a_short_lived_token_is_refreshed_ahead_and_the_stale_one_is_refused) {
  start_endpoint(script(R"("expires_in":3)"));
  auto token = source();
  std::uint16_t port = 0;
  auto peer = start_peer(port, "XOAUTH2,OAUTHBEARER");

  // Probes every 400 ms for 7 s: two lifetimes and more; every one passes.
  const auto started = std::chrono::steady_clock::now();
  int probes_run = 0;
  while (std::chrono::steady_clock::now() - started < std::chrono::seconds(7)) {
    const auto r = run(options(port, token)).at(0);
    ++probes_run;
    EXPECT_TRUE(auth_of(r).success()) << probes_run << ": " << r.detail << "\n"
                                      << transcript_of(r) << peer->log();
    expect_clean(r, port, *peer);
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
  }
  const auto tokens = issued_tokens();
  EXPECT_GE(tokens.size(), 3u) << "refreshed ahead of each 3 s expiry";
  EXPECT_LE(tokens.size(), 6u) << "never once per probe (" << probes_run << " probes)";
  EXPECT_EQ(endpoint_->count(), tokens.size());

  // The first token has expired by now: given as a static token, the peer refuses it Gmail-style.
  const auto stale = dir_.write("stale-token", tokens.front());
  auto o = options(port, nullptr);
  o.auth->credentials.token_file = stale.string();
  o.auth->mechanism = probes::sasl_mechanism::oauthbearer;
  const auto r = run(o).at(0);
  expect_refusal(r, failure_reason::auth_rejected, 535, "5.7.8");
  EXPECT_NE(r.detail.find("status 401, scope https://mail.google.com/"), std::string::npos)
      << r.detail;
  EXPECT_NE(peer->log().find("failure (expired token)"), std::string::npos) << peer->log();
  EXPECT_NE(peer->log().find("AUTH OAUTHBEARER answer to the error challenge: ^A"),
            std::string::npos)
      << peer->log();
  expect_clean(r, port, *peer);
}

TEST_F(oauth_sasl, invalid_grant_is_oauth2_token_unavailable_and_nothing_is_sent) {
  start_endpoint(script(R"("mode":"invalid_grant")"));
  std::uint16_t port = 0;
  auto peer = start_peer(port, "XOAUTH2,OAUTHBEARER");
  const auto r = run(options(port, source())).at(0);
  const auto& auth = auth_of(r);
  EXPECT_EQ(auth.reason, failure_reason::oauth2_token_unavailable) << r.detail;
  EXPECT_TRUE(r.detail.starts_with("invalid_grant: token endpoint answered HTTP 400"))
      << r.detail;
  EXPECT_NE(r.detail.find("AADSTS700082"), std::string::npos) << r.detail;
  EXPECT_FALSE(auth.policy_rejected);
  EXPECT_EQ(auth.reply_code, 0);
  EXPECT_TRUE(r.outcome(probe_kind::banner).success());
  EXPECT_EQ(transcript_of(r).find("C: AUTH"), std::string::npos) << transcript_of(r);
  EXPECT_EQ(peer->log().find(">> b'AUTH"), std::string::npos) << peer->log();
  expect_clean(r, port, *peer);
}

TEST_F(oauth_sasl, a_token_the_server_refuses_is_auth_token_rejected_with_the_challenge) {
  start_endpoint(script());
  // This peer knows none of the endpoint's tokens (another issued list, empty).
  const auto other = dir_.write("other-issued.jsonl", "");
  for (const char* mechanism : {"XOAUTH2", "OAUTHBEARER"}) {
    SCOPED_TRACE(mechanism);
    std::uint16_t port = 0;
    auto peer = start_peer(port, mechanism, {"--oauth-issued", other.string()});
    const auto r = run(options(port, source())).at(0);
    expect_refusal(r, failure_reason::auth_token_rejected, 535, "5.7.8");
    EXPECT_NE(r.detail.find("the token endpoint issued"), std::string::npos) << r.detail;
    EXPECT_NE(r.detail.find("status 401, scope https://mail.google.com/, schemes bearer"),
              std::string::npos)
        << r.detail;
    EXPECT_NE(peer->log().find("failure (unknown token)"), std::string::npos) << peer->log();
    // Each protocol's answer to the error challenge, so the server could send its 535.
    EXPECT_NE(peer->log().find(std::string("answer to the error challenge: ") +
                               (std::string(mechanism) == "XOAUTH2" ? "empty" : "^A")),
              std::string::npos)
        << peer->log();
    expect_clean(r, port, *peer);
  }
}

TEST_F(oauth_sasl, a_password_against_basic_auth_disabled_is_auth_basic_disabled) {
  std::uint16_t port = 0;
  auto peer = start_peer(port, "PLAIN,LOGIN", {"--basic-disabled"});
  auto o = options(port, nullptr);
  o.auth->credentials.password_file = dir_.write("password", "CANARY-PASSWORD-0b9f").string();
  const auto r = run(o).at(0);
  expect_refusal(r, failure_reason::auth_basic_disabled, 535, "5.7.139");
  EXPECT_NE(r.detail.find("basic authentication is disabled"), std::string::npos) << r.detail;
  EXPECT_EQ(r.detail.find("CANARY"), std::string::npos);
  EXPECT_EQ(transcript_of(r).find("CANARY"), std::string::npos);
}

TEST_F(oauth_sasl, twenty_concurrent_sessions_share_one_token_request) {
  start_endpoint(script(R"("delay_ms":300)"));  // all 20 are waiting while the request is out
  std::uint16_t port = 0;
  auto peer = start_peer(port, "XOAUTH2,OAUTHBEARER");
  const auto results = run(options(port, source()), 20);
  ASSERT_EQ(results.size(), 20u);
  for (const auto& r : results) {
    EXPECT_TRUE(auth_of(r).success()) << r.detail << "\n" << transcript_of(r);
    expect_clean(r, port, *peer);
  }
  EXPECT_EQ(endpoint_->count(), 1u);
  EXPECT_EQ(issued_tokens().size(), 1u);
}

TEST_F(oauth_sasl, a_server_without_a_token_mechanism_costs_no_token_request) {
  start_endpoint(script());
  std::uint16_t port = 0;
  auto peer = start_peer(port, "PLAIN,LOGIN");  // a token is never sent as a password
  const auto r = run(options(port, source())).at(0);
  EXPECT_EQ(auth_of(r).reason, failure_reason::auth_unsupported) << r.detail;
  EXPECT_EQ(r.detail, "auth: no usable AUTH mechanism offered");
  EXPECT_EQ(endpoint_->count(), 0u);
  EXPECT_EQ(peer->log().find(">> b'AUTH"), std::string::npos) << peer->log();
}

TEST_F(oauth_sasl, a_token_source_that_could_not_be_made_is_credentials_unavailable) {
  std::uint16_t port = 0;
  auto peer = start_peer(port, "XOAUTH2", {"--oauth-issued", dir_.write("none", "").string()});
  auto o = options(port, nullptr);
  o.auth->token_setup_error = "cannot read client_secret_file /run/secrets/x: No such file";
  const auto r = run(o).at(0);
  EXPECT_EQ(auth_of(r).reason, failure_reason::credentials_unavailable) << r.detail;
  EXPECT_EQ(r.detail, "auth: cannot read client_secret_file /run/secrets/x: No such file");
  EXPECT_EQ(peer->log().find(">> b'AUTH"), std::string::npos) << peer->log();
}

}  // namespace
}  // namespace smtp_test
