// `smtp_exporter --config.check` does everything start-up does short of the network: a file that
// passes the check also starts. Each failure is one exact, positioned line.
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <sstream>

#include <gtest/gtest.h>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"

namespace smtp_test {
namespace {

// The check's stderr, line by line, and its exit status.
struct check_outcome {
  int status = -1;
  std::vector<std::string> lines;
  std::string log;
};

check_outcome run_check(const temp_dir& dir, const fs::path& file) {
  child_process p({exporter_binary().string(), "--config.check", "--config.file", file.string()},
                  dir.path() / "check.log");
  check_outcome out;
  out.status = p.wait_exit(10s).value_or(-1);
  out.log = p.log();
  std::istringstream in(out.log);
  for (std::string line; std::getline(in, line);) out.lines.push_back(line);
  return out;
}

void replace_all(std::string& s, std::string_view from, const std::string& to) {
  for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

struct check_case {
  const char* name;
  const char* toml;                 // DIR stands for the directory of the test's files
  std::vector<std::string> errors;  // exactly these lines, in order; none: the file is valid
};
void PrintTo(const check_case& c, std::ostream* os) { *os << c.name; }

const char* const tls_target = "[[target]]\nname = \"t\"\nhost = \"127.0.0.1\"\nport = 465\n";

class config_check : public ::testing::TestWithParam<check_case> {
 protected:
  // Files the cases name: good ones made here, bad ones of every kind.
  void SetUp() override {
    pki_ = std::make_unique<test_pki>(dir_.path() / "pki");
    dir_.write("garbage.pem", "not a certificate\n");
    fs::create_directory(dir_.path() / "a_directory");
    ASSERT_EQ(::mkfifo((dir_.path() / "fifo").c_str(), 0600), 0);
    write_encrypted_key(dir_.path() / "encrypted.pem");
  }
  void write_encrypted_key(const fs::path& path) {
    std::FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    char passphrase[] = "passphrase";
    EXPECT_EQ(PEM_write_PKCS8PrivateKey(f, pki_->valid.key.get(), EVP_aes_256_cbc(), passphrase,
                                        sizeof passphrase - 1, nullptr, nullptr),
              1);
    std::fclose(f);
  }
  std::string expand(std::string text) const {
    replace_all(text, "PKI", (dir_.path() / "pki").string());
    replace_all(text, "DIR", dir_.path().string());
    return text;
  }

  temp_dir dir_;
  std::unique_ptr<test_pki> pki_;
};

TEST_P(config_check, reports_exactly) {
  const auto& c = GetParam();
  auto file = dir_.write("check.toml", expand(c.toml));
  auto out = run_check(dir_, file);
  if (c.errors.empty()) {
    EXPECT_EQ(out.status, 0) << out.log;
    EXPECT_EQ(out.lines, std::vector<std::string>{});  // stderr: no error, no warning
    return;
  }
  EXPECT_EQ(out.status, 1) << out.log;
  std::vector<std::string> expected;
  for (const auto& e : c.errors) expected.push_back(expand(e));
  expected.push_back(file.string() + ": configuration is invalid (" +
                     std::to_string(c.errors.size()) + " errors)");
  EXPECT_EQ(out.lines, expected);
}

std::string target_tls(const std::string& tls_lines) {
  return std::string(tls_target) + "[target.tls]\n" + tls_lines;
}

const std::string missing_ca = target_tls("ca_file = \"DIR/nonexistent.pem\"\n");
const std::string garbage_ca = target_tls("ca_file = \"DIR/garbage.pem\"\n");
const std::string directory_ca = target_tls("ca_file = \"DIR/a_directory\"\n");
// OpenSSL's own file reading waits for a FIFO's writer and reads /dev/zero without end: the TLS
// files go through the bounded reader, which refuses both at once.
const std::string endless_ca = target_tls("ca_file = \"/dev/zero\"\n");
const std::string fifo_cert =
    target_tls("cert_file = \"DIR/fifo\"\nkey_file = \"PKI/valid.key.pem\"\n");
const std::string fifo_key =
    target_tls("cert_file = \"PKI/valid.chain.pem\"\nkey_file = \"DIR/fifo\"\n");
const std::string missing_cert =
    target_tls("cert_file = \"DIR/nonexistent.pem\"\nkey_file = \"PKI/valid.key.pem\"\n");
const std::string garbage_cert =
    target_tls("cert_file = \"DIR/garbage.pem\"\nkey_file = \"PKI/valid.key.pem\"\n");
const std::string missing_key =
    target_tls("cert_file = \"PKI/valid.chain.pem\"\nkey_file = \"DIR/nonexistent.pem\"\n");
const std::string garbage_key =
    target_tls("cert_file = \"PKI/valid.chain.pem\"\nkey_file = \"DIR/garbage.pem\"\n");
const std::string mismatched_key =
    target_tls("cert_file = \"PKI/valid.chain.pem\"\nkey_file = \"PKI/expired.key.pem\"\n");
const std::string encrypted_key =
    target_tls("cert_file = \"PKI/valid.chain.pem\"\nkey_file = \"DIR/encrypted.pem\"\n");
const std::string good_files = target_tls(
    "ca_file = \"PKI/root.pem\"\ncert_file = \"PKI/valid.chain.pem\"\nkey_file = \"PKI/valid.key.pem\"\n");
// Two targets inherit one bad CA file: one error, at the key that names it.
const std::string inherited_ca =
    "[defaults.tls]\nca_file = \"DIR/nonexistent.pem\"\n\n" + std::string(tls_target) +
    "\n[[target]]\nname = \"u\"\nhost = \"127.0.0.1\"\nport = 587\n";
// Every bad file is reported, not just the first.
const std::string two_bad_files = missing_ca +
                                  "\n[[target]]\nname = \"u\"\nhost = \"127.0.0.1\"\nport = 465\n"
                                  "[target.tls]\ncert_file = \"PKI/valid.chain.pem\"\n"
                                  "key_file = \"DIR/garbage.pem\"\n";
// Plain targets load no TLS files, at start or in the check.
const std::string plain_target_bad_ca =
    "[[target]]\nname = \"t\"\nhost = \"127.0.0.1\"\nport = 25\nprobes = [\"banner\"]\n"
    "[target.tls]\nmode = \"none\"\n"
    "ca_file = \"DIR/nonexistent.pem\"\n";
// Secrets are read at every probe (and may be mounted later): the check does not open them.
const std::string missing_secrets =
    std::string(tls_target) +
    "probes = [\"banner\", \"auth\"]\n[target.auth]\nusername = \"alice\"\n"
    "password_file = \"DIR/not-mounted-yet\"\n\n"
    "[[target]]\nname = \"x\"\nhost = \"127.0.0.1\"\nport = 465\nprobes = [\"auth\"]\n"
    "[target.auth]\nusername = \"alice\"\nmechanism = \"XOAUTH2\"\n"
    "token_file = \"DIR/not-mounted-either\"\n";

const std::string nonexistent = "No such file or directory";

INSTANTIATE_TEST_SUITE_P(
    files, config_check,
    ::testing::Values(
        check_case{"missing_ca_file", missing_ca.c_str(),
                   {"DIR/check.toml:6:11: target[0].tls.ca_file: cannot load CA file "
                    "\"DIR/nonexistent.pem\": " + nonexistent}},
        check_case{"ca_file_without_a_certificate", garbage_ca.c_str(),
                   {"DIR/check.toml:6:11: target[0].tls.ca_file: cannot load CA file "
                    "\"DIR/garbage.pem\": no PEM certificate in it"}},
        check_case{"ca_file_is_a_directory", directory_ca.c_str(),
                   {"DIR/check.toml:6:11: target[0].tls.ca_file: cannot load CA file "
                    "\"DIR/a_directory\": is a directory"}},
        check_case{"ca_file_that_never_ends", endless_ca.c_str(),
                   {"DIR/check.toml:6:11: target[0].tls.ca_file: cannot load CA file "
                    "\"/dev/zero\": not a regular file"}},
        check_case{"client_certificate_is_a_fifo", fifo_cert.c_str(),
                   {"DIR/check.toml:6:13: target[0].tls.cert_file: cannot load client "
                    "certificate \"DIR/fifo\": not a regular file"}},
        check_case{"client_key_is_a_fifo", fifo_key.c_str(),
                   {"DIR/check.toml:7:12: target[0].tls.key_file: cannot load client key "
                    "\"DIR/fifo\": not a regular file"}},
        check_case{"missing_client_certificate", missing_cert.c_str(),
                   {"DIR/check.toml:6:13: target[0].tls.cert_file: cannot load client "
                    "certificate \"DIR/nonexistent.pem\": " + nonexistent}},
        check_case{"client_certificate_without_a_certificate", garbage_cert.c_str(),
                   {"DIR/check.toml:6:13: target[0].tls.cert_file: cannot load client "
                    "certificate \"DIR/garbage.pem\": no PEM certificate in it"}},
        check_case{"missing_client_key", missing_key.c_str(),
                   {"DIR/check.toml:7:12: target[0].tls.key_file: cannot load client key "
                    "\"DIR/nonexistent.pem\": " + nonexistent}},
        check_case{"client_key_without_a_key", garbage_key.c_str(),
                   {"DIR/check.toml:7:12: target[0].tls.key_file: cannot load client key "
                    "\"DIR/garbage.pem\": no PEM private key in it"}},
        check_case{"client_key_of_another_certificate", mismatched_key.c_str(),
                   {"DIR/check.toml:7:12: target[0].tls.key_file: cannot load client key "
                    "\"PKI/expired.key.pem\": the key does not match the client certificate"}},
        check_case{"encrypted_client_key", encrypted_key.c_str(),
                   {"DIR/check.toml:7:12: target[0].tls.key_file: cannot load client key "
                    "\"DIR/encrypted.pem\": it is encrypted; give the key without a passphrase"}},
        check_case{"inherited_ca_file_reported_once_where_it_is_written", inherited_ca.c_str(),
                   {"DIR/check.toml:2:11: defaults.tls.ca_file: cannot load CA file "
                    "\"DIR/nonexistent.pem\": " + nonexistent}},
        check_case{"every_bad_file_is_reported", two_bad_files.c_str(),
                   {"DIR/check.toml:6:11: target[0].tls.ca_file: cannot load CA file "
                    "\"DIR/nonexistent.pem\": " + nonexistent,
                    "DIR/check.toml:14:12: target[1].tls.key_file: cannot load client key "
                    "\"DIR/garbage.pem\": no PEM private key in it"}},
        check_case{"good_files_are_valid", good_files.c_str(), {}},
        check_case{"plain_targets_load_no_tls_files", plain_target_bad_ca.c_str(), {}},
        check_case{"secret_files_are_not_opened", missing_secrets.c_str(), {}}),
    [](const auto& info) { return std::string(info.param.name); });

// The promise behind the check: what it passes, start-up accepts; what it refuses, start-up refuses
// with the same words.
TEST(config_check_and_start, agree_on_a_missing_ca_file) {
  temp_dir dir;
  auto file = dir.write("check.toml", "[[target]]\nname = \"t\"\nhost = \"127.0.0.1\"\nport = 465\n"
                                      "[target.tls]\nca_file = \"/nonexistent/ca.pem\"\n");
  const std::string error = file.string() +
                            ":6:11: target[0].tls.ca_file: cannot load CA file "
                            "\"/nonexistent/ca.pem\": No such file or directory";
  auto check = run_check(dir, file);
  EXPECT_EQ(check.status, 1);
  ASSERT_FALSE(check.lines.empty()) << check.log;
  EXPECT_EQ(check.lines[0], error);

  child_process start({exporter_binary().string(), "--config.file", file.string(),
                       "--web.listen-address=127.0.0.1:0"},
                      dir.path() / "start.log");
  EXPECT_EQ(start.wait_exit(10s).value_or(-1), 1);
  EXPECT_NE(start.log().find("cannot load CA file"), std::string::npos) << start.log();
  EXPECT_NE(start.log().find("target[0].tls.ca_file"), std::string::npos) << start.log();
}

}  // namespace
}  // namespace smtp_test
