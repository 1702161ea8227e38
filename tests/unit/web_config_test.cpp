#include "config/web_config.hpp"

#include <crypt.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "exporter/web/web_security.hpp"
#include "common/base64.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/special_files.hpp"

namespace smtp_exporter::config {
namespace {

TEST(web_config_parse, maps_the_toolkit_names_to_openssl) {
  auto r = parse_web_config(
      "tls_server_config:\n  cert_file: c\n  key_file: k\n  client_auth_type: RequestClientCert\n"
      "  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "
      "TLS_CHACHA20_POLY1305_SHA256]\n  curve_preferences: [CurveP384, X25519]\n"
      "http_server_config:\n  headers:\n    x-frame-options: SAMEORIGIN\n    X-XSS-Protection: ''\n",
      "w.yml");
  ASSERT_TRUE(r.config) << ::testing::PrintToString(r.errors);
  const auto& tls = *r.config->tls;
  EXPECT_EQ(tls.client_auth_type, client_auth::request);
  EXPECT_EQ(tls.min_version, TLS1_3_VERSION);
  EXPECT_EQ(tls.max_version, 0);
  EXPECT_EQ(tls.cipher_suites, std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256"});
  EXPECT_EQ(tls.tls13_cipher_suites, std::vector<std::string>{"TLS_CHACHA20_POLY1305_SHA256"});
  EXPECT_EQ(tls.curve_preferences, (std::vector<std::string>{"P-384", "X25519"}));
  // Header names as the toolkit spells them; a blank value means unset.
  ASSERT_EQ(r.config->headers.size(), 1u);
  EXPECT_EQ(r.config->headers[0].first, "X-Frame-Options");
  EXPECT_EQ(r.config->headers[0].second, "SAMEORIGIN");
}

TEST(web_config_parse, empty_file_and_no_certificate_mean_plain_http) {
  for (const char* text : {"", "tls_server_config:\n", "tls_server_config:\n  min_version: TLS12\n"}) {
    auto r = parse_web_config(text, "w.yml");
    ASSERT_TRUE(r.config) << text;
    EXPECT_FALSE(r.config->tls) << text;
    EXPECT_FALSE(r.config->requires_auth());
  }
}

TEST(web_config_parse, every_error_in_one_pass) {
  auto r = parse_web_config(
      "tls_server_config:\n  cert_file: c\n  key_file: k\n  min_version: TLS13\n"
      "  max_version: TLS12\n  nope: 1\nbasic_auth_users:\n  'a:b': $2y$04$Y6s2nXCtmjPZ5tn8Fr7EYu5aSTBZk1c9lZMlGeDbJ4VBI.Sa0ijIS\n",
      "w.yml");
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.errors.size(), 3u) << ::testing::PrintToString(r.errors);
  EXPECT_EQ(r.errors.at(0), "w.yml:6:3: tls_server_config.nope: unknown key (want one of cert_file, "
                            "key_file, client_auth_type, client_ca_file, min_version, max_version, "
                            "cipher_suites, curve_preferences, prefer_server_cipher_suites)");
  EXPECT_EQ(r.errors.at(1), "w.yml:5:16: tls_server_config.max_version: is older than min_version");
  EXPECT_EQ(r.errors.at(2),
            "w.yml:8:3: basic_auth_users.a:b: a user name cannot contain ':' (basic auth splits on it)");
}

// A key given twice is an error, as in the toolkit (Go's YAML: "key already set in map"), never
// "the first one wins": a password rotated by adding the user again, or a client-certificate policy
// tightened further down, must not leave the old one quietly in force.
TEST(web_config_parse, duplicate_keys_are_errors) {
  const std::string old_hash = "$2y$04$Y6s2nXCtmjPZ5tn8Fr7EYu5aSTBZk1c9lZMlGeDbJ4VBI.Sa0ijIS";
  const std::string new_hash = "$2y$04$X0h1gDsPszWURQaxFN0cMuqAMo3A0fkNt3IiStvv1rmMk6mNaY9F.";
  struct duplicate_case {
    std::string yaml;
    std::string expected;
  };
  const std::vector<duplicate_case> cases = {
      {"basic_auth_users:\n  admin: " + old_hash + "\n  admin: " + new_hash + "\n",
       "w.yml:3:3: basic_auth_users.admin: duplicate key (already set on line 2)"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\n  client_ca_file: ca\n"
       "  client_auth_type: VerifyClientCertIfGiven\n"
       "  client_auth_type: RequireAndVerifyClientCert\n",
       "w.yml:6:3: tls_server_config.client_auth_type: duplicate key (already set on line 5)"},
      {"tls_server_config:\n  cert_file: c\n  key_file: k\ntls_server_config:\n  cert_file: d\n",
       "w.yml:4:1: tls_server_config: duplicate key (already set on line 1)"},
      {"http_server_config:\n  headers:\n    X-Frame-Options: deny\n    X-Frame-Options: sameorigin\n",
       "w.yml:4:5: http_server_config.headers.X-Frame-Options: duplicate key (already set on line 3)"},
  };
  for (const auto& c : cases) {
    auto r = parse_web_config(c.yaml, "w.yml");
    EXPECT_FALSE(r.config) << c.yaml;
    ASSERT_EQ(r.errors.size(), 1u) << c.yaml << ::testing::PrintToString(r.errors);
    EXPECT_EQ(r.errors[0], c.expected);
    EXPECT_EQ(r.errors[0].find("$2y$"), std::string::npos) << "a hash is never quoted";
  }
}

TEST(web_config_parse, bcrypt_cost) {
  EXPECT_EQ(bcrypt_cost("$2y$10$X0h1gDsPszWURQaxFN0cMuqAMo3A0fkNt3IiStvv1rmMk6mNaY9F."), 10);
  EXPECT_EQ(bcrypt_cost("$2b$04$X0h1gDsPszWURQaxFN0cMuqAMo3A0fkNt3IiStvv1rmMk6mNaY9F."), 4);
  EXPECT_EQ(bcrypt_cost("$2x$10$X0h1gDsPszWURQaxFN0cMuqAMo3A0fkNt3IiStvv1rmMk6mNaY9F."), 0);
  EXPECT_EQ(bcrypt_cost("$2y$03$X0h1gDsPszWURQaxFN0cMuqAMo3A0fkNt3IiStvv1rmMk6mNaY9F."), 0);
  EXPECT_EQ(bcrypt_cost("$2y$10$X0h1gDsPszWURQaxFN0cMuqAMo3A0fkNt3IiStvv1rmMk6mNaY9F"), 0);
  EXPECT_EQ(bcrypt_cost("$1$salt$hash"), 0);
  EXPECT_EQ(bcrypt_cost("plaintext"), 0);
}

// Found in review: the file was read whole before its size was checked, so a path pointing at an
// endless file took memory without bound. Now reading stops past 1 MiB.
TEST(web_config_load, a_file_over_1_mib_is_refused) {
  const smtp_test::sparse_file big(1024 * 1024 + 1);
  const auto result = load_web_config(big.path());
  EXPECT_EQ(result.errors, (std::vector<std::string>{big.path() + ": cannot read: larger than 1 MiB"}));
}

// Before the web config was read through common/bounded_read.hpp, /dev/zero was read up to the
// cap and a FIFO without a writer blocked the watcher's thread. Now neither is read at all.
TEST(web_config_load, a_device_is_refused_without_a_read) {
  const auto result = load_web_config("/dev/zero");
  EXPECT_EQ(result.errors, (std::vector<std::string>{"/dev/zero: cannot read: not a regular file"}));
}

TEST(web_config_load, a_fifo_is_refused_without_blocking) {
  const smtp_test::fifo_without_writer fifo;
  ASSERT_TRUE(fifo.ok());
  const auto result =
      fifo.finishes_within(std::chrono::seconds(5), [&] { return load_web_config(fifo.path()); });
  ASSERT_TRUE(result) << "load_web_config blocked on a FIFO";
  EXPECT_EQ(result->errors, (std::vector<std::string>{fifo.path() + ": cannot read: not a regular file"}));
}

TEST(web_config_load, missing_file_and_directory) {
  EXPECT_EQ(load_web_config("/nonexistent/web.yml").errors,
            (std::vector<std::string>{"/nonexistent/web.yml: cannot read: No such file or directory"}));
  const std::string dir = std::filesystem::temp_directory_path().string();
  EXPECT_EQ(load_web_config(dir).errors,
            (std::vector<std::string>{dir + ": cannot read: Is a directory"}));
}

}  // namespace
}  // namespace smtp_exporter::config

namespace smtp_exporter::exporter {
namespace {

TEST(web_security, basic_authorization_header) {
  auto c = parse_basic_authorization("Basic YWxpY2U6czNjcjN0OndpdGg6Y29sb25z");  // alice:s3cr3t:with:colons
  ASSERT_TRUE(c);
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "s3cr3t:with:colons");
  EXPECT_TRUE(parse_basic_authorization("basic   YWxpY2U6"));  // alice:, any case, spaces
  EXPECT_FALSE(parse_basic_authorization("Bearer YWxpY2U6czNjcjN0"));
  EXPECT_FALSE(parse_basic_authorization("Basic YWxpY2U="));  // no colon
  EXPECT_FALSE(parse_basic_authorization("Basic !!!"));
  EXPECT_FALSE(parse_basic_authorization(""));
}

TEST(web_security, bcrypt_matches) {
  // bcrypt of "secret" at cost 4 (as htpasswd -nbBC 4 makes it)
  const std::string hash = "$2y$04$Y6s2nXCtmjPZ5tn8Fr7EYu5aSTBZk1c9lZMlGeDbJ4VBI.Sa0ijIS";
  EXPECT_TRUE(bcrypt_matches("secret", hash));
  EXPECT_FALSE(bcrypt_matches("Secret", hash));
  EXPECT_FALSE(bcrypt_matches("secret\0", std::string(hash.data(), hash.size() - 1)));
  EXPECT_FALSE(bcrypt_matches(std::string_view("secret\0x", 8), hash));
  EXPECT_FALSE(bcrypt_matches("secret", ""));
}

// Users hashed at different costs: a check must cost the same work whoever it names, or its time
// tells a cheaply hashed user from an unknown one (before: cost 4 for "cheap", 7 for "nobody").
TEST(web_security, checks_cost_the_same_work_for_every_user_when_costs_differ) {
  namespace fs = std::filesystem;
  auto hash_at = [](const char* password, int cost) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    EXPECT_NE(crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt,
                               sizeof salt),
              nullptr);
    crypt_data data{};
    return std::string(crypt_rn(password, salt, &data, sizeof data));
  };
  auto basic = [](const std::string& user_and_password) {
    return "Basic " + smtp_exporter::base64_encode(user_and_password);
  };
  const fs::path dir = fs::temp_directory_path() / ("web_costs_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path web = dir / "web.yml";
  std::ofstream(web) << "basic_auth_users:\n  cheap: '" << hash_at("c-pass", 4)
                     << "'\n  middle: '" << hash_at("m-pass", 5) << "'\n  dear: '"
                     << hash_at("d-pass", 7) << "'\n";
  std::vector<std::string> errors;
  auto loaded = web_security::load(web.string(), errors);
  ASSERT_TRUE(loaded) << ::testing::PrintToString(errors);
  auto security = *loaded;
  const auto state = security->current();

  auto work = [&](std::string_view user) {
    long sum = 0;
    for (int cost : bcrypt_costs_of_check(*state, user)) sum += 1L << cost;
    return sum;
  };
  EXPECT_EQ(work("dear"), 1L << 7);
  EXPECT_EQ(work("cheap"), 1L << 7);
  EXPECT_EQ(work("middle"), 1L << 7);
  EXPECT_EQ(work("nobody"), 1L << 7);
  EXPECT_EQ(bcrypt_costs_of_check(*state, "cheap"), (std::vector<int>{4, 4, 5, 6}));
  EXPECT_NE(state->cost_warning.find("different costs (4 to 7)"), std::string::npos)
      << state->cost_warning;

  // The padding decides nothing: right passwords pass, wrong ones and unknown users do not.
  EXPECT_TRUE(security->check(*state, basic("cheap:c-pass")));
  EXPECT_FALSE(security->check(*state, basic("cheap:d-pass")));
  EXPECT_TRUE(security->check(*state, basic("middle:m-pass")));
  EXPECT_TRUE(security->check(*state, basic("dear:d-pass")));
  EXPECT_FALSE(security->check(*state, basic("nobody:no user has this password")));
  EXPECT_FALSE(security->check(*state, basic("nobody:c-pass")));

  // One cost: no padding, no warning.
  std::ofstream(web, std::ios::trunc) << "basic_auth_users:\n  a: '" << hash_at("x", 5)
                                      << "'\n  b: '" << hash_at("y", 5) << "'\n";
  auto same = web_security::load(web.string(), errors);
  ASSERT_TRUE(same) << ::testing::PrintToString(errors);
  EXPECT_EQ(bcrypt_costs_of_check(*(*same)->current(), "a"), std::vector<int>{5});
  EXPECT_EQ(bcrypt_costs_of_check(*(*same)->current(), "zz"), std::vector<int>{5});
  EXPECT_TRUE((*same)->current()->cost_warning.empty());
  fs::remove_all(dir);
}

// A new web config naming certificate files that are not there yet (a second Secret, mounted
// later) fails and the running one stays; once the files appear it applies, users and all: the
// files the new config names are watched too, not only the running one's.
TEST(web_security, a_config_naming_files_that_appear_later_applies_when_they_do) {
  namespace fs = std::filesystem;
  smtp_test::test_pki pki;
  const fs::path web = pki.dir / "web.yml";
  const std::string old_hash = "$2y$04$Y6s2nXCtmjPZ5tn8Fr7EYu5aSTBZk1c9lZMlGeDbJ4VBI.Sa0ijIS";
  const std::string new_hash = "$2y$04$X0h1gDsPszWURQaxFN0cMuqAMo3A0fkNt3IiStvv1rmMk6mNaY9F.";
  auto write = [&](const fs::path& cert, const fs::path& key, const std::string& hash) {
    std::ofstream(web, std::ios::trunc) << "tls_server_config:\n  cert_file: " << cert.string()
                                        << "\n  key_file: " << key.string()
                                        << "\nbasic_auth_users:\n  alice: '" << hash << "'\n";
  };
  write(pki.valid.chain_file, pki.valid.key_file, old_hash);
  std::vector<std::string> errors;
  auto loaded = web_security::load(web.string(), errors);
  ASSERT_TRUE(loaded) << ::testing::PrintToString(errors);
  auto security = *loaded;

  const fs::path next_cert = pki.dir / "next.crt";
  const fs::path next_key = pki.dir / "next.key";
  write(next_cert, next_key, new_hash);
  auto first = security->refresh();
  EXPECT_TRUE(first.changed);
  EXPECT_FALSE(first.applied);
  EXPECT_NE(first.message.find("cannot load " + next_cert.string()), std::string::npos)
      << first.message;
  EXPECT_EQ(security->current()->config.users.at("alice"), old_hash);
  EXPECT_FALSE(security->refresh().changed) << "nothing changed since: no new attempt";

  fs::copy_file(pki.valid.chain_file, next_cert);
  fs::copy_file(pki.valid.key_file, next_key);
  auto second = security->refresh();
  EXPECT_TRUE(second.changed);
  EXPECT_TRUE(second.applied) << second.message;
  EXPECT_EQ(security->current()->config.users.at("alice"), new_hash);
  EXPECT_FALSE(security->refresh().changed);
}

}  // namespace
}  // namespace smtp_exporter::exporter
