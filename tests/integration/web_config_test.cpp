// --web.config.file (the exporter-toolkit web configuration) through the real binary: TLS with
// and without client certificates, basic auth with right and wrong passwords and unknown users,
// the configured headers, certificates rotated on disk, errors naming file and key (and agreeing
// with promtool), and the real Prometheus scraping over TLS with basic auth.
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/run_command.hpp"

namespace smtp_test {
namespace {

using clock = std::chrono::steady_clock;

struct curl_result {
  int exit = -1;    // curl's exit status (0: a response came)
  int status = 0;   // HTTP status
  double seconds = 0;
  std::string headers;
  std::string body;
};

curl_result curl(const temp_dir& dir, std::vector<std::string> args) {
  static int n = 0;
  const std::string name = "curl" + std::to_string(++n);
  std::vector<std::string> argv{"/usr/bin/curl", "-sS", "--max-time", "10", "-D",
                                (dir.path() / (name + ".headers")).string(), "-w",
                                "%{http_code} %{time_total}"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("-o");
  argv.push_back((dir.path() / (name + ".body")).string());
  auto r = run_command(argv, dir.path(), name, 20s);
  curl_result out;
  out.exit = r.status.value_or(-1);
  std::sscanf(r.out.c_str(), "%d %lf", &out.status, &out.seconds);
  out.headers = read_text_file(dir.path() / (name + ".headers"));
  out.body = read_text_file(dir.path() / (name + ".body"));
  return out;
}

// The exporter with a web config; `ready_args` are curl's TLS arguments for the readiness check.
struct web_exporter {
  web_exporter(const temp_dir& dir, const std::string& web_yaml,
               std::vector<std::string> ready_args) {
    auto config = dir.write("smtp_exporter.toml", one_refused_target_toml);
    web_file = dir.write("web.yml", web_yaml);
    port = unused_port();
    process = std::make_unique<child_process>(
        std::vector<std::string>{exporter_binary().string(), "--config.file", config.string(),
                                 "--web.config.file", web_file.string(), "--web.listen-address",
                                 "127.0.0.1:" + std::to_string(port)},
        dir.path() / "exporter.log");
    ready_args.push_back(url("/-/ready"));
    auto deadline = clock::now() + 15s;
    while (clock::now() < deadline && process->running()) {
      if (curl(dir, ready_args).status == 200) {
        started = true;
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
  }
  std::string url(const std::string& path) const {
    return "https://127.0.0.1:" + std::to_string(port) + path;
  }
  fs::path web_file;
  std::unique_ptr<child_process> process;
  std::uint16_t port = 0;
  bool started = false;
};

std::string tls_yaml(const test_pki& pki, const fs::path& cert, const fs::path& key,
                     const std::string& extra = "") {
  (void)pki;
  return "tls_server_config:\n  cert_file: " + cert.string() + "\n  key_file: " + key.string() +
         "\n" + extra;
}

TEST(web_config, tls_and_basic_auth) {
  temp_dir dir;
  test_pki pki;
  const std::string hash = bcrypt_hash("right-password");
  ASSERT_FALSE(hash.empty());
  const std::string yaml = tls_yaml(pki, pki.valid.chain_file, pki.valid.key_file) +
                           "http_server_config:\n  headers:\n    X-Frame-Options: deny\n"
                           "    Strict-Transport-Security: max-age=31536000\n"
                           "basic_auth_users:\n  prometheus: '" + hash + "'\n";
  const std::vector<std::string> ca{"--cacert", pki.root_file.string()};
  web_exporter exporter(dir, yaml, ca);
  ASSERT_TRUE(exporter.started) << exporter.process->log();

  auto with = [&](std::vector<std::string> extra, const std::string& path) {
    std::vector<std::string> args = ca;
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(exporter.url(path));
    return curl(dir, args);
  };
  auto right = with({"-u", "prometheus:right-password"}, "/metrics");
  EXPECT_EQ(right.status, 200);
  EXPECT_NE(right.body.find("smtp_exporter_build_info"), std::string::npos);
  EXPECT_NE(right.headers.find("X-Frame-Options: deny"), std::string::npos) << right.headers;
  EXPECT_NE(right.headers.find("Strict-Transport-Security: max-age=31536000"), std::string::npos);
  // Again: remembered, still right.
  EXPECT_EQ(with({"-u", "prometheus:right-password"}, "/metrics").status, 200);

  auto none = with({}, "/metrics");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.headers.find("WWW-Authenticate: Basic"), std::string::npos) << none.headers;
  EXPECT_EQ(none.body.find("smtp_"), std::string::npos);
  EXPECT_NE(none.headers.find("X-Frame-Options: deny"), std::string::npos);
  for (const char* path : {"/", "/probe/debug?target=a", "/-/reload"}) {
    EXPECT_EQ(with({}, path).status, 401) << path;
  }
  EXPECT_EQ(with({"-X", "POST"}, "/-/reload").status, 401);

  // Kubelet probes cannot send credentials; these two say nothing else.
  EXPECT_EQ(with({}, "/-/healthy").status, 200);
  EXPECT_EQ(with({}, "/-/ready").status, 200);

  // A wrong password and an unknown user both cost a bcrypt: the time does not tell them apart.
  double wrong_best = 1e9, unknown_best = 1e9;
  for (int i = 0; i < 3; ++i) {
    auto wrong = with({"-u", "prometheus:wrong-password"}, "/metrics");
    EXPECT_EQ(wrong.status, 401);
    wrong_best = std::min(wrong_best, wrong.seconds);
    auto unknown = with({"-u", "nobody:right-password"}, "/metrics");
    EXPECT_EQ(unknown.status, 401);
    unknown_best = std::min(unknown_best, unknown.seconds);
  }
  std::printf("basic auth: wrong password %.3f s, unknown user %.3f s (best of 3)\n", wrong_best,
              unknown_best);
  EXPECT_GT(unknown_best, wrong_best * 0.3);
  EXPECT_EQ(with({"-H", "Authorization: Basic !!!"}, "/metrics").status, 401);

  // Plain HTTP to the TLS port gets nothing.
  auto plain = curl(dir, {"http://127.0.0.1:" + std::to_string(exporter.port) + "/metrics"});
  EXPECT_NE(plain.status, 200);
  // Secrets never reach the log.
  EXPECT_EQ(exporter.process->log().find("right-password"), std::string::npos);
}

TEST(web_config, client_certificates) {
  temp_dir dir;
  test_pki pki;
  // A client certificate from the intermediate CA, and one from nobody.
  auto client_key = make_key();
  cert_spec spec{"prometheus", {}, {}, pki.now - test_pki::day, pki.now + 30 * test_pki::day};
  spec.client_auth = true;
  auto client = make_certificate(spec, client_key, &pki.intermediate, pki.intermediate_key);
  const auto client_chain = dir.path() / "client.chain.pem";
  const auto client_key_file = dir.path() / "client.key.pem";
  write_pem(client_chain, {&client, &pki.intermediate});
  write_key(client_key_file, client_key);
  auto rogue_key = make_key();
  auto rogue = make_certificate(spec, rogue_key, nullptr, rogue_key);
  const auto rogue_file = dir.path() / "rogue.pem";
  const auto rogue_key_file = dir.path() / "rogue.key.pem";
  write_pem(rogue_file, {&rogue});
  write_key(rogue_key_file, rogue_key);

  const std::vector<std::string> with_cert{"--cacert", pki.root_file.string(), "--cert",
                                           client_chain.string(), "--key",
                                           client_key_file.string()};
  web_exporter exporter(
      dir,
      tls_yaml(pki, pki.valid.chain_file, pki.valid.key_file,
               "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " +
                   pki.root_file.string() + "\n  min_version: TLS12\n"),
      with_cert);
  ASSERT_TRUE(exporter.started) << exporter.process->log();

  auto ok = curl(dir, {"--cacert", pki.root_file.string(), "--cert", client_chain.string(), "--key",
                       client_key_file.string(), exporter.url("/metrics")});
  EXPECT_EQ(ok.status, 200);
  auto without = curl(dir, {"--cacert", pki.root_file.string(), exporter.url("/metrics")});
  EXPECT_NE(without.status, 200);
  EXPECT_NE(without.exit, 0);
  auto untrusted = curl(dir, {"--cacert", pki.root_file.string(), "--cert", rogue_file.string(),
                              "--key", rogue_key_file.string(), exporter.url("/metrics")});
  EXPECT_NE(untrusted.status, 200);
  EXPECT_NE(untrusted.exit, 0);
}

std::string served_subject(const temp_dir& dir, std::uint16_t port) {
  auto r = run_command({"/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                        "-servername", "mx.test"},
                       dir.path(), "s_client", 10s);
  auto at = r.out.find("subject=");
  return at == std::string::npos ? "" : r.out.substr(at, r.out.find('\n', at) - at);
}

TEST(web_config, rotated_certificate_is_served_without_a_restart) {
  temp_dir dir;
  test_pki pki;
  const auto cert = dir.path() / "tls.crt";
  const auto key = dir.path() / "tls.key";
  fs::copy_file(pki.valid.chain_file, cert);
  fs::copy_file(pki.valid.key_file, key);
  web_exporter exporter(dir, tls_yaml(pki, cert, key), {"--cacert", pki.root_file.string()});
  ASSERT_TRUE(exporter.started) << exporter.process->log();
  EXPECT_NE(served_subject(dir, exporter.port).find("CN = mx.test"), std::string::npos);

  // cert-manager renews: new key, new certificate, same file names.
  auto new_key = make_key();
  cert_spec spec{"renewed.test", {"mx.test"}, {"127.0.0.1"}, pki.now - test_pki::day,
                 pki.now + 60 * test_pki::day};
  auto renewed = make_certificate(spec, new_key, &pki.intermediate, pki.intermediate_key);
  write_pem(dir.path() / "tls.crt.new", {&renewed, &pki.intermediate});
  write_key(dir.path() / "tls.key.new", new_key);
  fs::rename(dir.path() / "tls.key.new", key);
  fs::rename(dir.path() / "tls.crt.new", cert);
  std::string subject;
  auto deadline = clock::now() + 30s;
  while (clock::now() < deadline) {
    subject = served_subject(dir, exporter.port);
    if (subject.find("renewed.test") != std::string::npos) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_NE(subject.find("CN = renewed.test"), std::string::npos) << subject;
  EXPECT_EQ(curl(dir, {"--cacert", pki.root_file.string(), exporter.url("/metrics")}).status, 200);

  // A broken change keeps the running config and says so.
  {
    std::ofstream(exporter.web_file, std::ios::trunc) << tls_yaml(pki, cert, key) << "  bogus: 1\n";
  }
  deadline = clock::now() + 30s;
  while (clock::now() < deadline &&
         exporter.process->log().find("web configuration reload failed") == std::string::npos) {
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_NE(exporter.process->log().find("tls_server_config.bogus: unknown key"), std::string::npos)
      << exporter.process->log();
  EXPECT_EQ(curl(dir, {"--cacert", pki.root_file.string(), exporter.url("/metrics")}).status, 200);
}

struct bad_web_case {
  const char* name;
  std::string yaml;      // CERT and KEY are replaced with real files
  std::string expected;  // part of the error
  bool promtool_agrees;  // promtool check web-config rejects it too
};

// The web port's TLS files go through the bounded reader: a FIFO (which OpenSSL's own file
// reading waits on forever) or /dev/zero named as a certificate, key or client CA is refused at
// once, by the check and at start.
TEST(web_config, tls_files_that_are_not_regular_files_are_refused_at_once) {
  temp_dir dir;
  test_pki pki;
  auto config = dir.write("smtp_exporter.toml", one_refused_target_toml);
  const auto fifo = dir.path() / "fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string cert = pki.valid.chain_file.string(), key = pki.valid.key_file.string();
  struct endless_case {
    const char* name;
    std::string yaml;
    std::string expected;
  };
  const std::vector<endless_case> cases = {
      {"cert_is_dev_zero", "tls_server_config:\n  cert_file: /dev/zero\n  key_file: " + key + "\n",
       "tls_server_config.cert_file: cannot load /dev/zero: not a regular file"},
      {"key_is_a_fifo",
       "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + fifo.string() + "\n",
       "tls_server_config.key_file: cannot load " + fifo.string() + ": not a regular file"},
      {"client_ca_is_a_fifo",
       "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key +
           "\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + fifo.string() +
           "\n",
       "tls_server_config.client_ca_file: cannot load " + fifo.string() + ": not a regular file"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    temp_dir case_dir;
    auto web = case_dir.write("web.yml", c.yaml);
    auto check = run_command({exporter_binary().string(), "--config.check", "--config.file",
                              config.string(), "--web.config.file", web.string()},
                             case_dir.path(), "check", 20s);
    EXPECT_EQ(check.status, 1) << check.err;
    EXPECT_NE(check.err.find(c.expected), std::string::npos) << check.err;
  }
}

TEST(web_config, bad_files_are_errors_naming_file_and_key_and_agree_with_promtool) {
  temp_dir dir;
  test_pki pki;
  const std::string tls = "tls_server_config:\n  cert_file: CERT\n  key_file: KEY\n";
  const std::vector<bad_web_case> cases = {
      {"unknown_top_key", "tls_config:\n  cert_file: CERT\n", "web.yml:1:1: tls_config: unknown key",
       true},
      {"unknown_tls_key", tls + "  cert: x\n", "web.yml:4:3: tls_server_config.cert: unknown key", true},
      {"bad_min_version", tls + "  min_version: TLS14\n",
       "web.yml:4:16: tls_server_config.min_version: unknown TLS version \"TLS14\"", true},
      {"bad_client_auth", tls + "  client_auth_type: Sometimes\n",
       "tls_server_config.client_auth_type: unknown value \"Sometimes\"", true},
      {"ca_without_policy", tls + "  client_ca_file: CERT\n",
       "tls_server_config.client_ca_file: set without a client_auth_type", true},
      {"bad_cipher", tls + "  cipher_suites: [TLS_NOPE]\n",
       "tls_server_config.cipher_suites: unknown cipher suite \"TLS_NOPE\"", true},
      {"bad_curve", tls + "  curve_preferences: [CurveP999]\n",
       "tls_server_config.curve_preferences: unknown curve \"CurveP999\"", true},
      {"missing_key", "tls_server_config:\n  cert_file: CERT\n",
       "tls_server_config.key_file: missing", true},
      {"missing_cert_file", "tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: KEY\n",
       "tls_server_config.cert_file: cannot load /nonexistent/c.pem", true},
      {"bad_header", "http_server_config:\n  headers:\n    X-Foo: bar\n",
       "web.yml:3:5: http_server_config.headers.X-Foo: this header cannot be set", true},
      {"bad_nosniff", "http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
       "http_server_config.headers.X-Content-Type-Options: must be nosniff", true},
      {"not_bcrypt", "basic_auth_users:\n  alice: plaintext\n",
       "web.yml:2:10: basic_auth_users.alice: must be a bcrypt hash", true},
      {"not_yaml", "tls_server_config: [\n", "web.yml:", true},
      // A user given twice: an error, not "the first hash wins" (a rotated password kept alive).
      {"duplicate_user",
       "basic_auth_users:\n  alice: $2y$04$Y6s2nXCtmjPZ5tn8Fr7EYu5aSTBZk1c9lZMlGeDbJ4VBI.Sa0ijIS\n"
       "  alice: $2y$04$X0h1gDsPszWURQaxFN0cMuqAMo3A0fkNt3IiStvv1rmMk6mNaY9F.\n",
       "web.yml:3:3: basic_auth_users.alice: duplicate key (already set on line 2)", true},
      // Deliberately stricter than the toolkit (which would trust the system CAs for clients).
      {"verify_without_ca", tls + "  client_auth_type: RequireAndVerifyClientCert\n",
       "tls_server_config.client_auth_type: verifies client certificates: client_ca_file is "
       "required",
       false},
  };
  auto config = dir.write("smtp_exporter.toml", one_refused_target_toml);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    std::string yaml = c.yaml;
    for (auto [from, to] : {std::pair<std::string, std::string>{"CERT", pki.valid.chain_file.string()},
                            {"KEY", pki.valid.key_file.string()}}) {
      for (auto at = yaml.find(from); at != std::string::npos; at = yaml.find(from, at + to.size())) {
        yaml.replace(at, from.size(), to);
      }
    }
    temp_dir case_dir;
    auto web = case_dir.write("web.yml", yaml);
    auto check = run_command({exporter_binary().string(), "--config.check", "--config.file",
                              config.string(), "--web.config.file", web.string()},
                             case_dir.path(), "check", 20s);
    EXPECT_EQ(check.status, 1) << check.err;
    // Errors name the file by the path given; compare from its last component.
    auto err = check.err;
    for (auto at = err.find(web.string()); at != std::string::npos; at = err.find(web.string())) {
      err.replace(at, web.string().size(), "web.yml");
    }
    EXPECT_NE(err.find(c.expected), std::string::npos) << err;
    EXPECT_EQ(err.find("plaintext"), std::string::npos) << "a hash is never quoted";
    // Starting with it fails too, with the same text.
    auto start = run_command({exporter_binary().string(), "--config.file", config.string(),
                              "--web.config.file", web.string(), "--web.listen-address",
                              "127.0.0.1:" + std::to_string(unused_port())},
                             case_dir.path(), "start", 20s);
    EXPECT_EQ(start.status, 1) << start.err;
    if (fs::exists("/usr/bin/promtool")) {
      auto promtool = run_command({"/usr/bin/promtool", "check", "web-config", web.string()},
                                  case_dir.path(), "promtool", 20s);
      EXPECT_EQ(promtool.status != 0, c.promtool_agrees) << promtool.out << promtool.err;
    }
  }
  // And a good one passes both.
  temp_dir good_dir;
  auto good = good_dir.write(
      "web.yml", "tls_server_config:\n  cert_file: " + pki.valid.chain_file.string() +
                     "\n  key_file: " + pki.valid.key_file.string() +
                     "\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: " +
                     pki.root_file.string() +
                     "\n  min_version: TLS12\n  max_version: TLS13\n  cipher_suites:\n"
                     "    - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
                     "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n  curve_preferences: "
                     "[X25519, CurveP256]\n  prefer_server_cipher_suites: true\n"
                     "http_server_config:\n  http2: false\n  headers:\n    X-Content-Type-Options: nosniff\n"
                     "basic_auth_users:\n  alice: '" + bcrypt_hash("pw", 4) + "'\n");
  auto ok = run_command({exporter_binary().string(), "--config.check", "--config.file",
                         config.string(), "--web.config.file", good.string()},
                        good_dir.path(), "check", 20s);
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_NE(ok.out.find("web configuration is valid (TLS on, 1 basic auth users)"), std::string::npos)
      << ok.out;
  if (fs::exists("/usr/bin/promtool")) {
    auto promtool = run_command({"/usr/bin/promtool", "check", "web-config", good.string()},
                                good_dir.path(), "promtool", 20s);
    EXPECT_EQ(promtool.status, 0) << promtool.out << promtool.err;
  }
}

// The real Prometheus scrapes the exporter over TLS with basic auth, as a ServiceMonitor with
// scheme https, tlsConfig and basicAuth makes it do.
TEST(web_config, prometheus_scrapes_over_tls_with_basic_auth) {
  ASSERT_TRUE(fs::exists("/usr/bin/prometheus")) << "scripts/install-deps.sh --test";
  temp_dir dir;
  test_pki pki;
  const std::string hash = bcrypt_hash("scrape-password");
  web_exporter exporter(dir,
                        tls_yaml(pki, pki.valid.chain_file, pki.valid.key_file) +
                            "basic_auth_users:\n  prometheus: '" + hash + "'\n",
                        {"--cacert", pki.root_file.string()});
  ASSERT_TRUE(exporter.started) << exporter.process->log();
  auto password = dir.write("scrape.pw", "scrape-password");
  auto yaml = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
              "  - job_name: smtp_tls\n    scheme: https\n    tls_config:\n      ca_file: " +
              pki.root_file.string() + "\n      server_name: mx.test\n    basic_auth:\n"
              "      username: prometheus\n      password_file: " + password.string() +
              "\n    static_configs:\n      - targets: ['127.0.0.1:" +
              std::to_string(exporter.port) + "']\n";
  auto config = dir.write("prometheus.yml", yaml);
  auto data = dir.path() / "prometheus-data";
  fs::create_directories(data);
  const auto prometheus_port = unused_port();
  child_process prometheus({"/usr/bin/prometheus", "--config.file=" + config.string(),
                            "--storage.tsdb.path=" + data.string(),
                            "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                           dir.path() / "prometheus.log");
  std::string targets;
  auto deadline = clock::now() + 60s;
  while (clock::now() < deadline && prometheus.running()) {
    targets = http_request(prometheus_port, "GET", "/api/v1/targets", 5s).body;
    if (targets.find("\"health\":\"up\"") != std::string::npos) break;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_NE(targets.find("\"health\":\"up\""), std::string::npos) << targets << prometheus.log();
  auto series = http_request(prometheus_port, "GET",
                             "/api/v1/query?query=smtp_exporter_build_info", 5s).body;
  EXPECT_NE(series.find("\"job\":\"smtp_tls\""), std::string::npos) << series;
  prometheus.terminate(10s);
}

}  // namespace
}  // namespace smtp_test
