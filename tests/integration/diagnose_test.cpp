// `smtp_exporter diagnose` and `smtp_exporter providers` through the real binary, against the
// peers the probe tests use: aiosmtpd (STARTTLS, AUTH), fake_smtp (implicit TLS, a 554 greeting),
// a refused port, dropped SYNs, and certificates from the test's own PKI. Every case asserts the
// exit status and the key lines of the text and JSON output. Loopback only.
#include <cstdio>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

namespace json = boost::json;

const std::string secret = "s3cr3t-Pa55word";

class diagnose : public ::testing::Test {
 protected:
  command_result run(std::vector<std::string> args,
                     const std::vector<std::pair<std::string, std::string>>& env = {}) {
    args.insert(args.begin(), exporter_binary().string());
    auto r = run_command(args, dir_.path(), "diagnose" + std::to_string(++runs_), 30s, env);
    EXPECT_TRUE(r.status.has_value()) << "diagnose did not finish within 30 s";
    return r;
  }
  command_result diag(std::vector<std::string> args,
                      const std::vector<std::pair<std::string, std::string>>& env = {}) {
    args.insert(args.begin(), "diagnose");
    return run(std::move(args), env);
  }
  // The JSON document of a run with --output json.
  json::object diag_json(std::vector<std::string> args, int expected_status,
                         const std::vector<std::pair<std::string, std::string>>& env = {}) {
    args.push_back("--output");
    args.push_back("json");
    auto r = diag(std::move(args), env);
    EXPECT_EQ(r.status, expected_status) << r.out << r.err;
    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << "not JSON: " << r.out;
    if (ec || !v.is_object()) return {};
    EXPECT_EQ(v.as_object().at("exit_code").as_int64(), expected_status);
    return v.as_object();
  }

  temp_dir dir_;
  int runs_ = 0;
};

std::string address(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The text of the first output line that starts with `prefix` (after indentation).
std::string line_starting(const std::string& text, const std::string& prefix) {
  std::size_t at = 0;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
    auto first = line.find_first_not_of(' ');
    if (first != std::string::npos && line.compare(first, prefix.size(), prefix) == 0) return line;
    if (end == std::string::npos) break;
    at = end + 1;
  }
  return "";
}

std::string json_str(const json::value& v) { return std::string(v.as_string()); }

TEST_F(diagnose, starttls_with_verified_certificate_passes) {
  test_pki pki;
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port, {"--tls-cert", pki.valid.chain_file.string(), "--tls-key",
                                          pki.valid.key_file.string()});
  ASSERT_NE(port, 0) << peer->log();
  auto r = diag({address(port), "--ca-file", pki.root_file.string(), "--ehlo-name", "probe.test"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  for (const char* step : {"resolve", "connect", "greeting", "ehlo", "starttls", "tls", "quit"}) {
    EXPECT_TRUE(has(line_starting(r.out, std::string("ok    ") + step), step)) << step << "\n" << r.out;
  }
  EXPECT_TRUE(has(line_starting(r.out, "ok    resolve"), "127.0.0.1"));
  EXPECT_TRUE(has(line_starting(r.out, "ok    greeting"), "220 aiosmtpd.test"));
  EXPECT_TRUE(has(line_starting(r.out, "ok    ehlo"), "STARTTLS"));
  auto tls = line_starting(r.out, "ok    tls");
  EXPECT_TRUE(has(tls, "TLSv1.3") && has(tls, "certificate verified")) << tls;
  // Leaf valid for 90 days from the PKI's `now`: 89 whole days are left.
  EXPECT_TRUE(has(line_starting(r.out, "cert[0]"), "CN=mx.test, issued by CN=smtp_exporter test intermediate CA"))
      << r.out;
  EXPECT_TRUE(has(line_starting(r.out, "cert[0]"), "89 days left"));
  EXPECT_TRUE(has(line_starting(r.out, "cert[1]"), "CN=smtp_exporter test intermediate CA"));
  EXPECT_TRUE(has(line_starting(r.out, "chain"), "2 certificates, earliest expiry"));
  EXPECT_TRUE(has(line_starting(r.out, "ok    verify"), "certificate verified for 127.0.0.1"));
  EXPECT_TRUE(has(r.out, "=> passed: banner, tls"));
  EXPECT_TRUE(has(r.out, "works (banner, tls)"));
  EXPECT_TRUE(has(r.out, "all 1 port passed; exit status 0"));

  auto doc = diag_json({address(port), "--ca-file", pki.root_file.string()}, 0);
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(doc.at("passed"), true);
  EXPECT_EQ(json_str(doc.at("source")), "address");
  EXPECT_TRUE(json_str(doc.at("openssl_version")).starts_with("OpenSSL 3"));
  const auto& p = doc.at("ports").as_array().at(0).as_object();
  EXPECT_EQ(p.at("port").as_int64(), port);
  EXPECT_EQ(json_str(p.at("tls")), "starttls");
  EXPECT_EQ(json_str(p.at("result")), "success");
  EXPECT_EQ(json_str(p.at("probes").at("tls").at("result")), "success");
  EXPECT_EQ(p.at("probes").at("tls").at("reply_code").as_int64(), 220);
  std::vector<std::string> phases;
  for (const auto& s : p.at("steps").as_array()) phases.push_back(json_str(s.at("phase")));
  EXPECT_EQ(phases, (std::vector<std::string>{"resolve", "connect", "banner", "ehlo", "starttls",
                                              "tls_handshake", "ehlo", "quit"}));
  const auto& facts = p.at("tls_facts").as_object();
  EXPECT_EQ(facts.at("verified"), true);
  EXPECT_EQ(facts.at("leaf_days_left").as_int64(), 89);
  EXPECT_EQ(facts.at("chain").as_array().at(0).at("not_after").to_number<double>(),
            static_cast<double>(pki.valid.cert.not_after));
  EXPECT_TRUE(p.at("advice").as_array().empty());
  EXPECT_FALSE(p.at("transcript").as_array().empty());
}

TEST_F(diagnose, implicit_tls_handshake_comes_before_the_greeting) {
  test_pki pki;
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir_, "multiline_greeting", port,
                              {"--implicit-tls", "--tls-cert", pki.valid.chain_file.string(),
                               "--tls-key", pki.valid.key_file.string()});
  ASSERT_NE(port, 0) << peer->log();
  auto r = diag({address(port), "--tls", "implicit", "--ca-file", pki.root_file.string(),
                 "--server-name", "mx.test"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  auto tls = r.out.find("ok    tls");
  auto greeting = r.out.find("ok    greeting");
  ASSERT_NE(tls, std::string::npos) << r.out;
  ASSERT_NE(greeting, std::string::npos);
  EXPECT_LT(tls, greeting);
  EXPECT_EQ(r.out.find("starttls"), std::string::npos) << r.out;
  EXPECT_TRUE(has(line_starting(r.out, "ok    verify"), "certificate verified for mx.test"));
  EXPECT_TRUE(has(r.out, "(implicit)  works (banner, tls)")) << r.out;
}

TEST_F(diagnose, greeting_554_points_at_a_blacklist) {
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir_, "greeting_554", port);
  ASSERT_NE(port, 0);
  auto r = diag({address(port)});
  EXPECT_EQ(r.status, 5) << r.out << r.err;
  EXPECT_TRUE(has(line_starting(r.out, "FAIL  greeting"), "554 5.7.1 Service unavailable")) << r.out;
  EXPECT_TRUE(has(r.out, "=> FAILED: banner_rejected"));
  EXPECT_TRUE(has(r.out, "zen.spamhaus.org"));
  EXPECT_TRUE(has(r.out, "blacklist"));
  EXPECT_TRUE(has(r.out, "exit status 5 (smtp)"));
  // Nothing after a refused greeting but a polite QUIT.
  EXPECT_EQ(line_starting(r.out, "ok    ehlo"), "");

  auto doc = diag_json({address(port)}, 5);
  ASSERT_FALSE(doc.empty());
  const auto& p = doc.at("ports").as_array().at(0).as_object();
  EXPECT_EQ(json_str(p.at("result")), "banner_rejected");
  EXPECT_EQ(json_str(p.at("class")), "smtp");
  EXPECT_EQ(p.at("reply_code").as_int64(), 554);
  EXPECT_TRUE(has(json_str(p.at("greeting")), "zen.spamhaus.org"));
  EXPECT_FALSE(p.at("advice").as_array().empty());
}

// The envelope steps, and on a policy refusal at RCPT the seed's advice (the IP may be
// blacklisted; the provider's text names the list).
TEST_F(diagnose, envelope_steps_and_policy_advice_at_rcpt) {
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir_, "rcpt_550_571", port);
  ASSERT_NE(port, 0);
  const std::vector<std::string> args{address(port), "--tls", "none", "--allow-plaintext",
                                      "--mail-from", "monitor@example.com", "--rcpt-to",
                                      "ops@example.net"};
  auto r = diag(args);
  EXPECT_EQ(r.status, 8) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "envelope MAIL FROM:<monitor@example.com> RCPT TO:<ops@example.net>"))
      << r.out;
  EXPECT_TRUE(has(line_starting(r.out, "ok    mail from"), "250 2.1.0")) << r.out;
  EXPECT_TRUE(has(line_starting(r.out, "FAIL  rcpt to"), "550 5.7.1")) << r.out;
  EXPECT_TRUE(has(r.out, "=> FAILED: recipient_rejected"));
  EXPECT_TRUE(has(r.out, "policy refusal"));
  EXPECT_TRUE(has(r.out, "blacklisted"));
  EXPECT_TRUE(has(r.out, "Spamhaus"));
  EXPECT_TRUE(has(r.out, "exit status 8 (envelope)"));

  auto doc = diag_json(args, 8);
  ASSERT_FALSE(doc.empty());
  const auto& p = doc.at("ports").as_array().at(0).as_object();
  EXPECT_EQ(json_str(p.at("result")), "recipient_rejected");
  EXPECT_EQ(json_str(p.at("class")), "envelope");
  EXPECT_EQ(json_str(p.at("enhanced_code")), "5.7.1");
  EXPECT_TRUE(p.at("policy_rejected").as_bool());
  peer->terminate();
  EXPECT_FALSE(has(peer->log(), "C: DATA")) << peer->log();
  EXPECT_TRUE(has(peer->log(), "C: RSET")) << peer->log();
}

TEST_F(diagnose, refused_port) {
  auto r = diag({address(unused_port())});
  EXPECT_EQ(r.status, 4) << r.out << r.err;
  EXPECT_TRUE(has(line_starting(r.out, "FAIL  connect"), "refused the connection")) << r.out;
  EXPECT_TRUE(has(r.out, "=> FAILED: connect_refused"));
  EXPECT_TRUE(has(r.out, "REJECT"));
  auto doc = diag_json({address(unused_port())}, 4);
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(json_str(doc.at("ports").at(0).at("class")), "connect");
}

TEST_F(diagnose, dropped_syns_point_at_security_groups_and_firewalls) {
  blackhole_listener blackhole;
  auto r = diag({address(blackhole.port()), "--timeout", "1s"});
  EXPECT_EQ(r.status, 4) << r.out << r.err;
  EXPECT_LT(r.seconds, 8.0);
  // Our words, not Asio's "Operation canceled" (issue 15).
  EXPECT_TRUE(has(line_starting(r.out, "FAIL  connect"),
                  "no answer from 127.0.0.1:" + std::to_string(blackhole.port()) + " within 1 s"))
      << r.out;
  EXPECT_FALSE(has(r.out, "Operation canceled")) << r.out;
  EXPECT_TRUE(has(r.out, "=> FAILED: connect_timeout"));
  EXPECT_TRUE(has(r.out, "within 1 s"));
  EXPECT_TRUE(has(r.out, "security group"));
  EXPECT_TRUE(has(r.out, "iptables"));
  EXPECT_TRUE(has(r.out, "block outbound 25"));
  auto doc = diag_json({address(blackhole.port()), "--timeout", "1s"}, 4);
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(json_str(doc.at("ports").at(0).at("result")), "connect_timeout");
}

TEST_F(diagnose, untrusted_certificate_names_the_ca_store_and_openssl) {
  test_pki pki;
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port, {"--tls-cert", pki.self_signed.chain_file.string(),
                                          "--tls-key", pki.self_signed.key_file.string()});
  ASSERT_NE(port, 0) << peer->log();
  auto r = diag({address(port), "--ca-file", pki.root_file.string()});
  EXPECT_EQ(r.status, 6) << r.out << r.err;
  // The handshake itself completes; verification is what fails, with the facts still shown.
  EXPECT_TRUE(has(line_starting(r.out, "ok    tls"), "certificate NOT verified")) << r.out;
  EXPECT_TRUE(has(line_starting(r.out, "FAIL  verify"), "cert_untrusted"));
  EXPECT_TRUE(has(line_starting(r.out, "cert[0]"), "89 days left"));
  EXPECT_TRUE(has(r.out, "=> FAILED: cert_untrusted"));
  EXPECT_TRUE(has(r.out, "This program runs OpenSSL 3"));
  EXPECT_TRUE(has(r.out, "CA store"));
  EXPECT_TRUE(has(r.out, "exit status 6 (tls)"));

  auto doc = diag_json({address(port), "--ca-file", pki.root_file.string()}, 6);
  ASSERT_FALSE(doc.empty());
  const auto& p = doc.at("ports").as_array().at(0).as_object();
  EXPECT_EQ(json_str(p.at("result")), "cert_untrusted");
  EXPECT_EQ(json_str(p.at("class")), "tls");
  EXPECT_EQ(p.at("tls_facts").at("verified"), false);
  EXPECT_FALSE(json_str(p.at("tls_facts").at("verify_error")).empty());

  // --insecure-skip-verify reports the problem and passes.
  auto skipped = diag({address(port), "--ca-file", pki.root_file.string(), "--insecure-skip-verify"});
  EXPECT_EQ(skipped.status, 0) << skipped.out;
  EXPECT_TRUE(has(line_starting(skipped.out, "warn  verify"), "ignored: --insecure-skip-verify"));
}

TEST_F(diagnose, rejected_auth_for_qq_names_the_authorization_code) {
  auto server_password = dir_.write("server.pw", secret);
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port, {"--auth-user", "alice", "--auth-password-file",
                                          server_password.string(), "--mechanisms", "PLAIN,LOGIN"});
  ASSERT_NE(port, 0) << peer->log();
  const std::string wrong = "wrong-Pa55word";
  auto wrong_file = dir_.write("wrong.pw", wrong + "\n");
  // The qq preset, pointed at the loopback peer.
  std::vector<std::string> args{"qq",         "--host",         "127.0.0.1",
                                "--port",     std::to_string(port), "--tls", "none",
                                "--allow-plaintext", "--username", "alice",
                                "--password-file", wrong_file.string()};
  auto r = diag(args);
  EXPECT_EQ(r.status, 7) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "QQ Mail, host 127.0.0.1")) << r.out;
  EXPECT_TRUE(has(line_starting(r.out, "FAIL  auth"), "535")) << r.out;
  EXPECT_TRUE(has(r.out, "=> FAILED: auth_rejected"));
  EXPECT_TRUE(has(r.out, "authorization code"));
  EXPECT_TRUE(has(r.out, "exit status 7 (auth)"));
  auto doc = diag_json(args, 7);
  ASSERT_FALSE(doc.empty());
  EXPECT_EQ(json_str(doc.at("provider")), "qq");
  EXPECT_EQ(json_str(doc.at("ports").at(0).at("result")), "auth_rejected");
  EXPECT_EQ(doc.at("ports").at(0).at("probes").at("auth").at("reply_code").as_int64(), 535);
  for (const auto& text : {r.out, r.err, json::serialize(doc)}) {
    EXPECT_FALSE(has(text, wrong)) << "the password leaked";
  }

  // The right secret from the environment: AUTH passes.
  auto ok = diag({address(port), "--tls", "none", "--allow-plaintext", "--username", "alice",
                  "--password-env", "SMTP_DIAGNOSE_TEST_PW"},
                 {{"SMTP_DIAGNOSE_TEST_PW", secret}});
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  EXPECT_TRUE(has(line_starting(ok.out, "ok    auth"), "235")) << ok.out;
  EXPECT_FALSE(has(ok.out + ok.err, secret));
}

TEST_F(diagnose, auth_after_starttls) {
  test_pki pki;
  auto server_password = dir_.write("server.pw", secret);
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port,
                             {"--tls-cert", pki.valid.chain_file.string(), "--tls-key",
                              pki.valid.key_file.string(), "--auth-user", "alice",
                              "--auth-password-file", server_password.string(), "--auth-require-tls"});
  ASSERT_NE(port, 0) << peer->log();
  auto pw = dir_.write("client.pw", secret);
  auto r = diag({address(port), "--ca-file", pki.root_file.string(), "--username", "alice",
                 "--password-file", pw.string()});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(line_starting(r.out, "ok    auth"), "235")) << r.out;
  EXPECT_TRUE(has(r.out, "works (banner, tls, auth)"));
  EXPECT_FALSE(has(r.out + r.err, secret));
}

TEST_F(diagnose, unresolvable_host) {
  auto r = diag({"no-such-host.invalid:587", "--timeout", "2s"});
  EXPECT_EQ(r.status, 3) << r.out << r.err;
  EXPECT_TRUE(has(line_starting(r.out, "FAIL  resolve"), "never exists")) << r.out;
  EXPECT_TRUE(has(r.out, "=> FAILED: resolve_failed"));
}

TEST_F(diagnose, several_ports_one_verdict_each_and_the_first_failure_decides) {
  std::uint16_t good = 0, rejecting = 0;
  auto aio = start_aiosmtpd(dir_, good);
  auto blocked = start_fake_smtp(dir_, "greeting_554", rejecting);
  ASSERT_NE(good, 0);
  ASSERT_NE(rejecting, 0);
  auto refused = unused_port();
  auto ports = std::to_string(good) + "," + std::to_string(refused) + "," + std::to_string(rejecting);
  auto r = diag({"127.0.0.1", "--port", ports, "--tls", "none"});
  EXPECT_EQ(r.status, 4) << r.out << r.err;  // the refused port is the first failure
  EXPECT_TRUE(has(r.out, "verdict for 127.0.0.1:")) << r.out;
  EXPECT_TRUE(has(line_starting(r.out, std::to_string(good) + " (none)"), "works (banner)")) << r.out;
  EXPECT_TRUE(has(line_starting(r.out, std::to_string(refused) + " (none)"), "connect_refused"));
  EXPECT_TRUE(has(line_starting(r.out, std::to_string(rejecting) + " (none)"), "banner_rejected"));
  EXPECT_TRUE(has(r.out, "2 of 3 ports failed; exit status 4 (connect)"));

  auto reordered = diag({"127.0.0.1", "--port", std::to_string(rejecting) + "," + std::to_string(refused),
                         "--tls", "none"});
  EXPECT_EQ(reordered.status, 5) << reordered.out;

  // A port whose run ends at its deadline leaves nothing pending: the next port still runs.
  std::uint16_t tarpit_port = 0;
  auto tarpit = start_fake_smtp(dir_, "tarpit", tarpit_port);
  ASSERT_NE(tarpit_port, 0);
  auto after_timeout = diag({"127.0.0.1", "--port", std::to_string(tarpit_port) + "," + std::to_string(good),
                             "--tls", "none", "--timeout", "1s"});
  EXPECT_EQ(after_timeout.status, 5) << after_timeout.out << after_timeout.err;
  EXPECT_TRUE(has(line_starting(after_timeout.out, std::to_string(tarpit_port) + " (none)"),
                  "banner_timeout"))
      << after_timeout.out;
  EXPECT_TRUE(has(line_starting(after_timeout.out, std::to_string(good) + " (none)"), "works (banner)"));

  auto doc = diag_json({"127.0.0.1", "--port", ports, "--tls", "none"}, 4);
  ASSERT_FALSE(doc.empty());
  const auto& list = doc.at("ports").as_array();
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list.at(0).at("passed"), true);
  EXPECT_EQ(json_str(list.at(1).at("result")), "connect_refused");
  EXPECT_EQ(json_str(list.at(2).at("result")), "banner_rejected");
  EXPECT_EQ(doc.at("passed"), false);
}

TEST_F(diagnose, target_from_a_config_file) {
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port);
  ASSERT_NE(port, 0);
  auto config = dir_.write("smtp_exporter.toml",
                           "[[target]]\nname = \"relay\"\nhost = \"127.0.0.1\"\nport = " +
                               std::to_string(port) + "\ntls = \"none\"\nprobes = [\"banner\"]\n");
  auto r = diag({"relay", "--config.file", config.string()});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(r.out, "diagnose relay: target in the config, host 127.0.0.1, port " +
                             std::to_string(port) + " (none)"))
      << r.out;
  // --config.file before the subcommand counts too.
  auto before = run({"--config.file", config.string(), "diagnose", "relay"});
  EXPECT_EQ(before.status, 0) << before.out << before.err;
  auto unknown = diag({"nope", "--config.file", config.string()});
  EXPECT_EQ(unknown.status, 2);
  EXPECT_TRUE(has(unknown.err, "unknown target \"nope\"")) << unknown.err;
}

TEST_F(diagnose, usage_errors_exit_2_and_no_password_on_the_command_line) {
  auto password = diag({"127.0.0.1:25", "--username", "a", "--password", "hunter2"});
  EXPECT_EQ(password.status, 2);
  EXPECT_TRUE(has(password.err, "no password on the command line")) << password.err;
  EXPECT_EQ(diag({}).status, 2);
  EXPECT_EQ(diag({"127.0.0.1:25", "--tls", "sometimes"}).status, 2);
  EXPECT_EQ(diag({"127.0.0.1:25", "--timeout", "soon"}).status, 2);
  // Found in review: a huge timeout overflowed the deadline (now + timeout) into the past.
  auto huge = diag({"127.0.0.1:25", "--timeout", "9223372036854775807ms"});
  EXPECT_EQ(huge.status, 2);
  EXPECT_TRUE(has(huge.err, "--timeout: at most 10m")) << huge.err;
  EXPECT_EQ(diag({"127.0.0.1:25", "--timeout", "2562047h"}).status, 2);
  auto no_secret = diag({"127.0.0.1:25", "--username", "a"});
  EXPECT_EQ(no_secret.status, 2);
  EXPECT_TRUE(has(no_secret.err, "--password-file")) << no_secret.err;
  auto missing = diag({"127.0.0.1:25", "--username", "a", "--password-file",
                       (dir_.path() / "absent").string()});
  EXPECT_EQ(missing.status, 2);
  EXPECT_TRUE(has(missing.err, "cannot read password_file")) << missing.err;
  auto bad_ca = diag({"127.0.0.1:25", "--ca-file", (dir_.path() / "absent.pem").string()});
  EXPECT_EQ(bad_ca.status, 2);
  auto typo = diag({"gmial"});
  EXPECT_EQ(typo.status, 2);
  EXPECT_TRUE(has(typo.err, "smtp_exporter providers")) << typo.err;
  // The exporter's own flags keep CLI11's behaviour.
  EXPECT_EQ(run({"--no-such-flag"}).status, 109);
  EXPECT_EQ(run({"--version"}).status, 0);
}

// The first character of `text` that a terminal may act on: a C0 control but newline and tab,
// DEL, a C1 control (U+0080 to U+009F, or such a byte alone: 0x9B is CSI on an 8-bit terminal),
// a bidirectional control, a line or paragraph separator, or a byte that is not UTF-8. As
// "U+XXXX" or "byte 0xXX" with its offset; "" when there is none.
std::string first_unsafe_for_a_terminal(const std::string& text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    for (std::size_t k = 1; n != 0 && k < n; ++k) {
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) n = 0;
    }
    char at[64];
    if (n == 0) {
      std::snprintf(at, sizeof at, "byte 0x%02x at %zu", c, i);
      return at;
    }
    char32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    const bool unsafe = (cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7f && cp <= 0x9f) ||
                        cp == 0x061c || cp == 0x200e || cp == 0x200f ||
                        (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
                        cp == 0x2028 || cp == 0x2029;
    if (unsafe) {
      std::snprintf(at, sizeof at, "U+%04X at %zu", static_cast<unsigned>(cp), i);
      return at;
    }
    i += n;
  }
  return "";
}

// Issue 24, finding 9: a certificate's CN with a C1 CSI (U+009B, "31m": red) came out raw and
// the terminal acted on it. Everything diagnose prints goes through one filter at the output
// (text and JSON, stdout and stderr), so no server-chosen text can: the certificate's names, the
// greeting and the EHLO reply in the transcript.
TEST_F(diagnose, server_text_cannot_write_control_characters_to_the_terminal) {
  test_pki pki;
  const std::string cn = "mx\xc2\x9b" "31m\xc2\x85\xe2\x80\xae\xe2\x80\xa8.test";
  const key_pair key = make_key();
  cert_spec spec;
  spec.common_name = cn;
  spec.dns_names = {"mx.test", "localhost"};
  spec.ip_addresses = {"127.0.0.1"};
  spec.not_before = pki.now - test_pki::day;
  spec.not_after = pki.now + 90 * test_pki::day;
  const certificate leaf = make_certificate(spec, key, &pki.intermediate, pki.intermediate_key);
  const auto chain = dir_.path() / "controls.chain.pem";
  const auto key_file = dir_.path() / "controls.key.pem";
  write_pem(chain, {&leaf, &pki.intermediate});
  write_key(key_file, key);
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir_, port, {"--tls-cert", chain.string(), "--tls-key",
                                          key_file.string()});
  ASSERT_NE(port, 0) << peer->log();

  auto r = diag({address(port), "--ca-file", pki.root_file.string(), "--verbose"});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(has(line_starting(r.out, "cert[0]"), "CN=mx")) << r.out;
  EXPECT_EQ(first_unsafe_for_a_terminal(r.out), "") << r.out;
  EXPECT_EQ(first_unsafe_for_a_terminal(r.err), "") << r.err;
  const auto j = diag({address(port), "--ca-file", pki.root_file.string(), "--output", "json"});
  EXPECT_EQ(j.status, 0) << j.out << j.err;
  EXPECT_EQ(first_unsafe_for_a_terminal(j.out), "") << j.out;
  boost::system::error_code ec;
  json::parse(j.out, ec);
  EXPECT_FALSE(ec) << "not JSON: " << j.out;

  std::uint16_t plain_port = 0;
  auto plain = start_fake_smtp(dir_, "greeting_controls", plain_port);
  ASSERT_NE(plain_port, 0) << plain->log();
  auto g = diag({address(plain_port), "--tls", "none", "--verbose"});
  EXPECT_TRUE(has(g.out, "ready")) << g.out;
  EXPECT_EQ(first_unsafe_for_a_terminal(g.out), "") << g.out;
  EXPECT_EQ(first_unsafe_for_a_terminal(g.err), "") << g.err;
  const auto gj = diag({address(plain_port), "--tls", "none", "--output", "json"});
  EXPECT_EQ(first_unsafe_for_a_terminal(gj.out), "") << gj.out;
}

TEST_F(diagnose, providers_lists_the_presets) {
  auto r = run({"providers"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has(line_starting(r.out, "qq "), "smtp.qq.com")) << r.out;
  EXPECT_TRUE(has(line_starting(r.out, "qq "), "465 (implicit), 587 (starttls)"));
  EXPECT_TRUE(has(line_starting(r.out, "qq "), "authorization code"));
  EXPECT_TRUE(has(line_starting(r.out, "sendgrid "), "587 (starttls), 25 (starttls), 465 (implicit)"));
  EXPECT_TRUE(has(line_starting(r.out, "icloud "), "app-specific password"));
  // Each preset's credential rule as of today beside what the sheet said (issue 20).
  EXPECT_TRUE(has(r.out, "credentials now: OAuth 2.0 only")) << r.out;
  auto j = run({"providers", "--output", "json"});
  EXPECT_EQ(j.status, 0);
  auto list = json::parse(j.out).as_array();
  EXPECT_EQ(list.size(), 11u);  // the seed's ten and office365 (issue 20)
  EXPECT_EQ(json_str(list.at(0).at("provider")), "qq");
  EXPECT_EQ(list.at(0).at("ports").at(0).at("port").as_int64(), 465);
  EXPECT_EQ(list.at(0).at("authorization_code"), true);
  bool outlook_seen = false;
  for (const auto& preset : list) {
    if (json_str(preset.at("provider")) != "outlook") continue;
    outlook_seen = true;
    EXPECT_EQ(preset.at("credentials").at("oauth_only"), true) << json::serialize(preset);
    EXPECT_FALSE(json_str(preset.at("credentials").at("sheet_said")).empty());
  }
  EXPECT_TRUE(outlook_seen);
}

}  // namespace
}  // namespace smtp_test
