// The TLS probe end to end: certificates from the test's own PKI, served by aiosmtpd (STARTTLS),
// postfix (STARTTLS and implicit TLS) and scripted servers; every assertion reads /metrics.
#include <gtest/gtest.h>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/postfix.hpp"

namespace smtp_test {
namespace {

std::string tls_target(const std::string& name, std::uint16_t port, const test_pki& pki,
                       const std::string& tls = "starttls", const std::string& extra = "") {
  // `tls` cannot be both a string and a table in TOML: with [target.tls], the mode goes inside.
  return "[[target]]\nname = \"" + name + "\"\nhost = \"127.0.0.1\"\nport = " +
         std::to_string(port) + "\nprobes = [\"banner\", \"tls\"]\n" + extra +
         "\n[target.tls]\nmode = \"" + tls + "\"\nserver_name = \"mx.test\"\nca_file = \"" +
         pki.root_file.string() + "\"\n\n";
}

const std::string fast_defaults = "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\n\n";

using labels = std::map<std::string, std::string>;

struct expected_tls {
  const char* leaf;
  const char* result;
  int verified;
  int hostname_match;
};

const expected_tls cases[] = {
    {"valid", "success", 1, 1},
    {"expiring_soon", "success", 1, 1},
    {"expired", "cert_expired", 0, 1},
    {"not_yet_valid", "cert_not_yet_valid", 0, 1},
    {"self_signed", "cert_untrusted", 0, 1},
    {"wrong_host", "cert_hostname_mismatch", 0, 0},
};

// Asserts everything the scrape says about `target`, served with `leaf`.
void expect_tls_metrics(const std::string& text, const std::string& target, const expected_tls& c,
                        const test_pki& pki) {
  SCOPED_TRACE(target);
  const auto& leaf = pki.get(c.leaf);
  EXPECT_EQ(probe_result(text, target, "tls"), c.result) << text;
  EXPECT_EQ(metric_value(text, "smtp_tls_verified", {{"target", target}}), c.verified);
  EXPECT_EQ(metric_value(text, "smtp_tls_hostname_match", {{"target", target}}), c.hostname_match);
  EXPECT_EQ(metric_value(text, "smtp_tls_cert_not_after_timestamp_seconds", {{"target", target}}),
            static_cast<double>(leaf.cert.not_after));
  EXPECT_EQ(metric_value(text, "smtp_tls_cert_not_before_timestamp_seconds", {{"target", target}}),
            static_cast<double>(leaf.cert.not_before));
  bool self_signed = std::string(c.leaf) == "self_signed";
  double earliest = self_signed ? leaf.cert.not_after
                                : std::min(leaf.cert.not_after, pki.intermediate.not_after);
  EXPECT_EQ(metric_value(text, "smtp_tls_chain_earliest_expiry_timestamp_seconds", {{"target", target}}),
            earliest);
  EXPECT_EQ(metric_value(text, "smtp_tls_chain_cert_not_after_timestamp_seconds",
                         {{"target", target}, {"depth", "0"}, {"subject_cn", leaf.cert.subject_cn}}),
            static_cast<double>(leaf.cert.not_after));
  if (!self_signed) {
    EXPECT_EQ(metric_value(text, "smtp_tls_chain_cert_not_after_timestamp_seconds",
                           {{"target", target},
                            {"depth", "1"},
                            {"subject_cn", "smtp_exporter test intermediate CA"},
                            {"issuer_cn", "smtp_exporter test root CA"}}),
              static_cast<double>(pki.intermediate.not_after));
  }
  EXPECT_EQ(metric_value(text, "smtp_tls_chain_certificates", {{"target", target}}), self_signed ? 1 : 2);
  EXPECT_TRUE(label_value(text, "smtp_tls_version_info", {{"target", target}}, "version").has_value());
  EXPECT_TRUE(label_value(text, "smtp_tls_cipher_info", {{"target", target}}, "cipher").has_value());
  EXPECT_EQ(metric_value(text, "smtp_tls_ocsp_stapled", {{"target", target}}), 0);
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", target}, {"probe", "tls"}}), 220);
  EXPECT_TRUE(metric_value(text, "smtp_probe_phase_duration_seconds", {{"target", target}, {"phase", "tls_handshake"}}));
}

TEST(tls_probe, aiosmtpd_starttls_every_certificate_case) {
  temp_dir dir;
  test_pki pki;
  std::vector<std::unique_ptr<child_process>> peers;
  std::string toml = fast_defaults;
  std::vector<std::string> names;
  for (const auto& c : cases) {
    const auto& leaf = pki.get(c.leaf);
    std::uint16_t port = 0;
    peers.push_back(start_aiosmtpd(dir, port, {"--tls-cert", leaf.chain_file.string(), "--tls-key",
                                               leaf.key_file.string()}));
    ASSERT_NE(port, 0) << peers.back()->log();
    toml += tls_target(std::string("aio-") + c.leaf, port, pki);
    names.push_back(std::string("aio-") + c.leaf);
  }
  exporter_process exporter(dir, toml);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided(names, "tls");
  for (const auto& c : cases) expect_tls_metrics(text, std::string("aio-") + c.leaf, c, pki);
  // STARTTLS advertised before TLS, and the capabilities after TLS are the ones reported.
  EXPECT_EQ(metric_value(text, "smtp_ehlo_extension_info", {{"target", "aio-valid"}, {"extension", "SIZE"}}), 1);
  EXPECT_TRUE(metric_value(text, "smtp_probe_phase_duration_seconds", {{"target", "aio-valid"}, {"phase", "starttls"}}));
}

TEST(tls_probe, insecure_skip_verify_still_records_the_facts) {
  temp_dir dir;
  test_pki pki;
  std::uint16_t port = 0;
  auto peer = start_aiosmtpd(dir, port, {"--tls-cert", pki.expired.chain_file.string(), "--tls-key",
                                         pki.expired.key_file.string()});
  ASSERT_NE(port, 0);
  std::string toml = fast_defaults + tls_target("skip", port, pki);
  toml += "insecure_skip_verify = true\n";
  exporter_process exporter(dir, toml);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"skip"}, "tls");
  EXPECT_EQ(probe_result(text, "skip", "tls"), "success") << text;
  EXPECT_EQ(metric_value(text, "smtp_tls_verified", {{"target", "skip"}}), 0);
  EXPECT_EQ(metric_value(text, "smtp_tls_cert_not_after_timestamp_seconds", {{"target", "skip"}}),
            static_cast<double>(pki.expired.cert.not_after));
}

struct scripted_tls_case {
  const char* script;
  const char* tls;
  const char* result;
  int code;
};
// A failing case reads as its script, not as the struct's bytes.
void PrintTo(const scripted_tls_case& c, std::ostream* os) { *os << c.script; }

class scripted_tls : public ::testing::TestWithParam<scripted_tls_case> {};

TEST_P(scripted_tls, reports_reason) {
  const auto& c = GetParam();
  temp_dir dir;
  test_pki pki;
  std::uint16_t port = 0;
  std::vector<std::string> extra{"--tls-cert", pki.valid.chain_file.string(), "--tls-key",
                                 pki.valid.key_file.string()};
  if (std::string(c.tls) == "implicit") extra.push_back("--implicit-tls");
  auto peer = start_fake_smtp(dir, c.script, port, extra);
  ASSERT_NE(port, 0) << peer->log();
  exporter_process exporter(dir, fast_defaults + tls_target("peer", port, pki, c.tls));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"peer"}, "tls");
  EXPECT_EQ(probe_result(text, "peer", "tls"), c.result) << text << exporter.process().log();
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "peer"}, {"probe", "tls"}}), c.code);
  EXPECT_EQ(label_value(text, "smtp_probe_result_info", {{"target", "peer"}, {"probe", "banner"}}, "result"),
            "success");
}

INSTANTIATE_TEST_SUITE_P(
    scripts, scripted_tls,
    ::testing::Values(scripted_tls_case{"starttls_last_line", "starttls", "success", 220},
                      scripted_tls_case{"auth_no_auth", "starttls", "starttls_unsupported", 0},
                      scripted_tls_case{"starttls_454", "starttls", "starttls_rejected", 454},
                      scripted_tls_case{"starttls_stall", "starttls", "tls_timeout", 220},
                      scripted_tls_case{"implicit_tls", "implicit", "success", 220}),
    [](const auto& info) { return std::string(info.param.script); });

TEST(tls_probe, stalled_handshake_ends_within_the_timeout) {
  temp_dir dir;
  test_pki pki;
  std::uint16_t port = 0;
  auto peer = start_fake_smtp(dir, "starttls_stall", port);
  ASSERT_NE(port, 0);
  exporter_process exporter(dir, fast_defaults + tls_target("stall", port, pki));
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"stall"}, "tls");
  EXPECT_EQ(probe_result(text, "stall", "tls"), "tls_timeout");
  auto duration = metric_value(text, "smtp_probe_duration_seconds", {{"target", "stall"}});
  ASSERT_TRUE(duration);
  EXPECT_LT(*duration, 1.5);  // timeout = 1s
}

TEST(tls_probe, plain_text_probe_of_an_implicit_tls_port_is_a_banner_timeout) {
  temp_dir dir;
  test_pki pki;
  std::uint16_t port = 0;
  auto peer = start_implicit_tls_smtp(dir, pki.valid.chain_file, pki.valid.key_file, port);
  ASSERT_NE(port, 0);
  exporter_process exporter(dir, fast_defaults + "[[target]]\nname = \"p\"\nhost = \"127.0.0.1\"\nport = " +
                                     std::to_string(port) + "\ntls = \"none\"\nprobes = [\"banner\"]\n");
  ASSERT_TRUE(exporter.started());
  auto text = exporter.scrape_until_decided({"p"}, "banner");
  EXPECT_EQ(probe_result(text, "p", "banner"), "banner_timeout");
}

// min_tls_version is enforced: a server that stops at TLS 1.2 fails a target that wants 1.3.
TEST(tls_probe, min_tls_version) {
  temp_dir dir;
  test_pki pki;
  std::uint16_t port = 0;
  auto peer = start_implicit_tls_smtp(dir, pki.valid.chain_file, pki.valid.key_file, port,
                                      {"--tls-max-version", "TLSv1_2"});
  ASSERT_NE(port, 0) << peer->log();
  std::string toml = fast_defaults + tls_target("tls12", port, pki, "implicit") +
                     tls_target("tls13", port, pki, "implicit");
  toml += "min_tls_version = \"TLS1.3\"\n";  // lands in the last [target.tls] table
  exporter_process exporter(dir, toml);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"tls12", "tls13"}, "tls");
  EXPECT_EQ(probe_result(text, "tls12", "tls"), "success") << text;
  EXPECT_EQ(metric_value(text, "smtp_tls_version_info", {{"target", "tls12"}, {"version", "TLSv1.2"}}), 1);
  EXPECT_EQ(probe_result(text, "tls13", "tls"), "tls_handshake_failed");
  EXPECT_FALSE(metric_value(text, "smtp_tls_version_info", {{"target", "tls13"}}));
}

// A real MTA: the same certificates give the same metrics through postfix, on its STARTTLS port
// and on its implicit-TLS (465-style) port.
TEST(tls_probe, postfix_starttls_and_implicit_tls_match_aiosmtpd) {
  ASSERT_TRUE(postfix_peer::available()) << "run scripts/install-deps.sh --test as root";
  temp_dir dir;
  test_pki pki;
  std::vector<std::unique_ptr<postfix_peer>> servers;
  std::string toml = fast_defaults;
  std::vector<std::string> names;
  const std::vector<const expected_tls*> chosen{&cases[0], &cases[2], &cases[4], &cases[5]};
  for (const auto* c : chosen) {
    const auto& leaf = pki.get(c->leaf);
    servers.push_back(std::make_unique<postfix_peer>(dir, leaf.chain_file, leaf.key_file));
    ASSERT_TRUE(servers.back()->started()) << servers.back()->log();
    toml += tls_target(std::string("pf-starttls-") + c->leaf, servers.back()->starttls_port(), pki);
    toml += tls_target(std::string("pf-implicit-") + c->leaf, servers.back()->implicit_port(), pki, "implicit");
    names.push_back(std::string("pf-starttls-") + c->leaf);
    names.push_back(std::string("pf-implicit-") + c->leaf);
  }
  exporter_process exporter(dir, toml);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided(names, "tls");
  for (const auto* c : chosen) {
    expect_tls_metrics(text, std::string("pf-starttls-") + c->leaf, *c, pki);
    expect_tls_metrics(text, std::string("pf-implicit-") + c->leaf, *c, pki);
  }
  // Implicit TLS: no STARTTLS phase, and the greeting came inside TLS.
  EXPECT_FALSE(metric_value(text, "smtp_probe_phase_duration_seconds",
                            {{"target", "pf-implicit-valid"}, {"phase", "starttls"}}));
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "pf-implicit-valid"}, {"probe", "banner"}}), 220);
}

// CRAM-MD5 (and the auto choice of it) against postfix with Cyrus SASL, after STARTTLS and on
// the implicit-TLS port; a wrong password is auth_rejected; nothing is sent before TLS.
TEST(auth_over_tls, postfix_cram_md5) {
  ASSERT_TRUE(postfix_peer::available());
  temp_dir dir;
  test_pki pki;
  postfix_peer server(dir, pki.valid.chain_file, pki.valid.key_file,
                      sasl_options{"alice", "s3cr3t-Pa55word", ""});
  ASSERT_TRUE(server.started()) << server.log();
  auto good = dir.write("good.pw", "s3cr3t-Pa55word\n");
  auto bad = dir.write("bad.pw", "not-the-password\n");
  auto auth_target = [&](const std::string& name, std::uint16_t port, const std::string& mode,
                         const fs::path& password, const std::string& mechanism) {
    return "[[target]]\nname = \"" + name + "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
           "\nprobes = [\"banner\", \"tls\", \"auth\"]\n[target.tls]\nmode = \"" + mode +
           "\"\nserver_name = \"mx.test\"\nca_file = \"" + pki.root_file.string() +
           "\"\n[target.auth]\nusername = \"alice\"\npassword_file = \"" + password.string() +
           "\"\nmechanism = \"" + mechanism + "\"\n\n";
  };
  std::string toml = "[defaults]\ninterval = \"2s\"\ntimeout = \"2s\"\n\n" +
                     auth_target("cram", server.starttls_port(), "starttls", good, "CRAM-MD5") +
                     auth_target("auto", server.starttls_port(), "starttls", good, "auto") +
                     auth_target("implicit", server.implicit_port(), "implicit", good, "PLAIN") +
                     auth_target("wrong", server.starttls_port(), "starttls", bad, "CRAM-MD5");
  exporter_process exporter(dir, toml);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"cram", "auto", "implicit", "wrong"}, "auth", 30s);
  EXPECT_EQ(probe_result(text, "cram", "auth"), "success") << text << server.log();
  EXPECT_EQ(probe_result(text, "auto", "auth"), "success");
  EXPECT_EQ(probe_result(text, "implicit", "auth"), "success");
  EXPECT_EQ(probe_result(text, "wrong", "auth"), "auth_rejected");
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "cram"}, {"probe", "auth"}}), 235);
  EXPECT_EQ(metric_value(text, "smtp_reply_code", {{"target", "wrong"}, {"probe", "auth"}}), 535);
  // AUTH is offered only after STARTTLS; the metric reflects the capabilities seen after TLS.
  EXPECT_EQ(metric_value(text, "smtp_auth_mechanism_info", {{"target", "cram"}, {"mechanism", "CRAM-MD5"}}), 1);
}

// aiosmtpd with STARTTLS on `leaf` and AUTH for user alice (password in `password_file`),
// offered only after TLS.
std::unique_ptr<child_process> start_auth_peer(const temp_dir& dir, const test_pki::leaf& leaf,
                                               const std::filesystem::path& password_file,
                                               std::uint16_t& port) {
  return start_aiosmtpd(dir, port,
                        {"--tls-cert", leaf.chain_file.string(), "--tls-key",
                         leaf.key_file.string(), "--auth-user", "alice", "--auth-password-file",
                         password_file.string(), "--auth-require-tls"});
}

// Credentials never go to a server whose certificate failed verification.
TEST(auth_over_tls, untrusted_certificate_fails_auth_with_the_certificate_reason) {
  temp_dir dir;
  test_pki pki;
  auto server_password = dir.write("server.pw", "s3cr3t-Pa55word");
  std::uint16_t port = 0;
  auto peer = start_auth_peer(dir, pki.self_signed, server_password, port);
  ASSERT_NE(port, 0) << peer->log();
  std::string toml = fast_defaults + "[[target]]\nname = \"mitm\"\nhost = \"127.0.0.1\"\nport = " +
                     std::to_string(port) + "\nprobes = [\"banner\", \"tls\", \"auth\"]\n[target.tls]\n"
                     "server_name = \"mx.test\"\nca_file = \"" + pki.root_file.string() +
                     "\"\n[target.auth]\nusername = \"alice\"\npassword = \"s3cr3t-Pa55word\"\n";
  exporter_process exporter(dir, toml);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"mitm"}, "auth");
  EXPECT_EQ(probe_result(text, "mitm", "auth"), "cert_untrusted");
  peer->terminate();
  // aiosmtpd logs every command it receives: no AUTH ever arrived.
  EXPECT_NE(peer->log().find(">> b'STARTTLS'"), std::string::npos) << peer->log();
  EXPECT_EQ(peer->log().find(">> b'AUTH"), std::string::npos) << peer->log();
}

// Found in review: OpenSSL will not take an IPv6 literal with a zone as the expected address
// (X509_VERIFY_PARAM_set1_ip_asc returns 0); with the return value ignored no name was checked at
// all, and any certificate from a trusted CA passed. Now the name check fails closed.
TEST(auth_over_tls, ipv6_zone_literal_as_server_name_fails_closed) {
  temp_dir dir;
  test_pki pki;
  auto server_password = dir.write("server.pw", "s3cr3t-Pa55word");
  std::uint16_t port = 0;
  auto peer = start_auth_peer(dir, pki.valid, server_password, port);
  ASSERT_NE(port, 0) << peer->log();
  std::string toml = fast_defaults;
  for (const auto* name : {"fe80::1%lo", "fe80::1%nosuchif0", "::1%1"}) {
    toml += "[[target]]\nname = \"zone-" + std::to_string(toml.size()) +
            "\"\nhost = \"127.0.0.1\"\nport = " + std::to_string(port) +
            "\nprobes = [\"banner\", \"tls\", \"auth\"]\n[target.tls]\nserver_name = \"" + name +
            "\"\nca_file = \"" + pki.root_file.string() +
            "\"\n[target.auth]\nusername = \"alice\"\npassword_file = \"" +
            server_password.string() + "\"\n\n";
  }
  exporter_process exporter(dir, toml);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  std::vector<std::string> names;
  for (std::size_t at = toml.find("name = \"zone-"); at != std::string::npos;
       at = toml.find("name = \"zone-", at + 1)) {
    names.push_back(toml.substr(at + 8, toml.find('"', at + 8) - at - 8));
  }
  ASSERT_EQ(names.size(), 3u);
  auto text = exporter.scrape_until_decided(names, "auth");
  for (const auto& n : names) {
    SCOPED_TRACE(n);
    EXPECT_EQ(probe_result(text, n, "tls"), "cert_hostname_mismatch") << text;
    EXPECT_EQ(probe_result(text, n, "auth"), "cert_hostname_mismatch");
    EXPECT_EQ(metric_value(text, "smtp_tls_verified", {{"target", n}}), 0);
  }
  peer->terminate();
  EXPECT_NE(peer->log().find(">> b'STARTTLS'"), std::string::npos) << peer->log();
  EXPECT_EQ(peer->log().find(">> b'AUTH"), std::string::npos) << peer->log();
}

}  // namespace
}  // namespace smtp_test

namespace smtp_test {
namespace {

// insecure_skip_verify lets the tls probe pass an unverified certificate, but credentials and the
// envelope still never go to that server unless allow_unverified_credentials says so by name.
TEST(auth_over_tls, insecure_skip_verify_withholds_credentials_unless_allowed_by_name) {
  temp_dir dir;
  test_pki pki;
  auto server_password = dir.write("server.pw", "s3cr3t-Pa55word");
  std::uint16_t port = 0;
  auto peer = start_auth_peer(dir, pki.self_signed, server_password, port);
  ASSERT_NE(port, 0) << peer->log();
  auto target = [&](const std::string& name, bool allow) {
    return "[[target]]\nname = \"" + name + "\"\nhost = \"127.0.0.1\"\nport = " +
           std::to_string(port) +
           "\nprobes = [\"banner\", \"tls\", \"auth\", \"envelope\"]\nenvelope_interval = \"1s\"\n" +
           (allow ? "allow_unverified_credentials = true\n" : "") +
           "[target.tls]\nserver_name = \"mx.test\"\ninsecure_skip_verify = true\n"
           "[target.auth]\nusername = \"alice\"\npassword = \"s3cr3t-Pa55word\"\n"
           "[target.envelope]\nmail_from = \"alice@mx.test\"\nrcpt_to = \"alice@mx.test\"\n\n";
  };
  {
    exporter_process exporter(dir, fast_defaults + target("withheld", false));
    ASSERT_TRUE(exporter.started()) << exporter.process().log();
    auto text = exporter.scrape_until_decided({"withheld"}, "auth");
    EXPECT_EQ(probe_result(text, "withheld", "tls"), "success") << text;
    EXPECT_EQ(probe_result(text, "withheld", "auth"), "unverified_tls_refused") << text;
    EXPECT_EQ(probe_result(text, "withheld", "envelope"), "unverified_tls_refused") << text;
    // The load warned about it, naming the key that would allow it.
    EXPECT_NE(exporter.process().log().find("allow_unverified_credentials"), std::string::npos)
        << exporter.process().log();
  }
  // aiosmtpd logs every command it receives: no AUTH, no MAIL ever arrived.
  EXPECT_NE(peer->log().find(">> b'STARTTLS'"), std::string::npos) << peer->log();
  EXPECT_EQ(peer->log().find(">> b'AUTH"), std::string::npos) << peer->log();
  EXPECT_EQ(peer->log().find(">> b'MAIL"), std::string::npos) << peer->log();

  exporter_process allowed(dir, fast_defaults + target("allowed", true));
  ASSERT_TRUE(allowed.started()) << allowed.process().log();
  auto text = allowed.scrape_until_decided({"allowed"}, "envelope");
  EXPECT_EQ(probe_result(text, "allowed", "auth"), "success") << text;
  EXPECT_EQ(probe_result(text, "allowed", "envelope"), "success") << text;
}

}  // namespace
}  // namespace smtp_test
