// [target.auth.oauth2] end to end: the exporter binary with a config, the scripted HTTPS token
// endpoint (tests/peers/token_endpoint.py, the test's own CA) and aiosmtpd accepting XOAUTH2 and
// OAUTHBEARER only with tokens that endpoint issued (--oauth-issued). What the operator sees:
// /metrics, the status page, the log at debug, --config.check and diagnose; canaries for every
// secret (client secret, refresh token, access token) must appear in none of them.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <algorithm>
#include <csignal>
#include <fstream>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/token_endpoint.hpp"

namespace smtp_test {
namespace {

constexpr std::string_view canary_secret = "CANARY-CLIENT-SECRET-7f3a";
constexpr std::string_view canary_refresh = "CANARY-REFRESH-TOKEN-91bd";
// The endpoint issues "at-<n>"; with --issued it also writes them down. An access token is a
// secret too: the test looks for the issued ones in everything the exporter shows.
constexpr std::string_view access_token_prefix = "at-";

void expect_no_secret(const std::string& where, const std::string& text,
                      const std::vector<std::string>& issued) {
  EXPECT_EQ(text.find(canary_secret), std::string::npos) << where << " shows the client secret";
  EXPECT_EQ(text.find(canary_refresh), std::string::npos) << where << " shows the refresh token";
  for (const auto& token : issued) {
    // "auth=Bearer at-1" or a bare "at-1" token next to a separator.
    for (const std::string& shape : {"Bearer " + token, "\"" + token + "\"", "=" + token + "\n"}) {
      EXPECT_EQ(text.find(shape), std::string::npos) << where << " shows access token " << token;
    }
  }
}

std::vector<std::string> issued_tokens(const fs::path& issued) {
  std::vector<std::string> out;
  std::ifstream in(issued);
  for (std::string line; std::getline(in, line);) {
    out.emplace_back(boost::json::parse(line).as_object().at("token").as_string());
  }
  return out;
}

struct run_output {
  int status = -1;
  std::string output;  // stdout then stderr
};

class oauth_exporter : public ::testing::Test {
 protected:
  void SetUp() override {
    issued_ = dir_.path() / "issued.jsonl";
    std::ofstream(issued_).flush();
    secret_file_ = dir_.write("client_secret", std::string(canary_secret) + "\n");
    refresh_file_ = dir_.write("refresh_token", std::string(canary_refresh) + "\n");
  }

  void start_peer(const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"--auth-user", "box@example.com", "--oauth-issued",
                                  issued_.string(), "--mechanisms", "PLAIN,XOAUTH2,OAUTHBEARER"};
    args.insert(args.end(), extra.begin(), extra.end());
    peer_ = start_aiosmtpd(dir_, smtp_port_, args);
    ASSERT_NE(smtp_port_, 0) << peer_->log();
  }

  void start_endpoint(const std::string& script) {
    endpoint_ = std::make_unique<token_endpoint>(dir_, pki_.valid, script, issued_);
    ASSERT_NE(endpoint_->port(), 0) << endpoint_->log();
  }

  // One target block; `extra_oauth` goes into [target.auth.oauth2].
  std::string target(const std::string& name, const std::string& extra_oauth = {},
                     const std::string& mechanism = "auto") const {
    return "[[target]]\nname = \"" + name + "\"\nhost = \"127.0.0.1\"\nport = " +
           std::to_string(smtp_port_) +
           "\ntls = \"none\"\nallow_plaintext = true\nprobes = [\"banner\", \"auth\"]\n\n"
           "[target.auth]\nusername = \"box@example.com\"\nmechanism = \"" + mechanism +
           "\"\n\n[target.auth.oauth2]\nflow = \"refresh_token\"\nclient_id = \"client-1\"\n"
           "client_secret_file = \"" + secret_file_.string() + "\"\nrefresh_token_file = \"" +
           refresh_file_.string() + "\"\ntoken_url = \"" + endpoint_->url() +
           "\"\nscope = \"https://outlook.office.com/SMTP.Send offline_access\"\nca_file = \"" +
           pki_.root_file.string() + "\"\n" + extra_oauth + "\n";
  }
  // The exporter binary with `args`, to completion (30 s at most).
  run_output run(const std::vector<std::string>& args) {
    std::vector<std::string> argv{exporter_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv, dir_.path(), "run" + std::to_string(++runs_), std::chrono::seconds(30));
    return {r.status.value_or(-1000), r.out + r.err};
  }
  static std::string defaults() { return "[defaults]\ninterval = \"1s\"\ntimeout = \"1s\"\n\n"; }

  temp_dir dir_;
  test_pki pki_{dir_.path() / "pki"};
  fs::path issued_, secret_file_, refresh_file_;
  std::unique_ptr<child_process> peer_;
  std::uint16_t smtp_port_ = 0;
  std::unique_ptr<token_endpoint> endpoint_;
  int runs_ = 0;
};

TEST_F(oauth_exporter, twenty_targets_share_one_token_request_and_no_secret_shows) {
  start_peer();
  start_endpoint(R"({"mode":"ok","expires_in":3600})");
  std::string config = defaults();
  std::vector<std::string> names;
  for (int i = 0; i < 20; ++i) {
    names.push_back("box" + std::to_string(i));
    config += target(names.back());
  }
  exporter_process exporter(dir_, config, {"--log.level=debug"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until([&](const std::string& t) {
    for (const auto& n : names) {
      if (probe_result(t, n, "auth") != "success") return false;
    }
    return true;
  });
  for (const auto& n : names) EXPECT_EQ(probe_result(text, n, "auth"), "success") << n << "\n" << text;
  // One credential, one request, however many targets and runs (each target ran at least once).
  EXPECT_EQ(endpoint_->count(), 1u) << endpoint_->log();
  EXPECT_EQ(metric_value(text, "smtp_oauth2_token_requests_total",
                         {{"target", "box7"}, {"result", "success"}}),
            1);
  EXPECT_EQ(metric_value(text, "smtp_oauth2_token_requests_total",
                         {{"target", "box7"}, {"result", "error"}}),
            0);
  const auto expiry = metric_value(text, "smtp_oauth2_token_expiry_timestamp_seconds", {{"target", "box3"}});
  ASSERT_TRUE(expiry);
  EXPECT_NEAR(*expiry, static_cast<double>(std::time(nullptr)) + 3600, 120);
  EXPECT_EQ(metric_value(text, "smtp_oauth2_token_source_ready", {{"target", "box0"}}), 1);

  // A reload with the same credential keeps the token: still one request.
  exporter.rewrite_config(config + target("box20"));
  exporter.process().signal(SIGHUP);
  text = exporter.scrape_until([](const std::string& t) { return probe_result(t, "box20", "auth") == "success"; });
  EXPECT_EQ(probe_result(text, "box20", "auth"), "success") << text;
  EXPECT_EQ(endpoint_->count(), 1u);

  const auto issued = issued_tokens(issued_);
  ASSERT_EQ(issued.size(), 1u);
  expect_no_secret("/metrics", text, issued);
  auto page = http_request(exporter.port(), "GET", "/");
  EXPECT_NE(page.body.find("OAuth 2.0 tokens"), std::string::npos) << page.body;
  expect_no_secret("the status page", page.body, issued);
  auto debug = http_request(exporter.port(), "GET", "/probe/debug?target=box1");
  expect_no_secret("the debug page", debug.body, issued);
  expect_no_secret("the exporter's log at debug", exporter.process().log(), issued);
  expect_no_secret("the SMTP peer's log", peer_->log(), issued);
}

TEST_F(oauth_exporter, refreshes_ahead_of_expiry_so_probes_keep_passing) {
  start_peer();
  // 3 s tokens: refreshed after 1.5 s (never before half the lifetime), usable until 2.7 s; the
  // peer refuses a token past its expiry.
  start_endpoint(R"({"mode":"ok","expires_in":3})");
  exporter_process exporter(dir_, defaults() + target("short"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"short"}, "auth");
  ASSERT_EQ(probe_result(text, "short", "auth"), "success") << text;
  const auto runs_before = metric_value(text, "smtp_probe_runs_total", {{"target", "short"}, {"probe", "auth"}}).value_or(0);
  std::this_thread::sleep_for(std::chrono::seconds(8));
  text = exporter.scrape();
  const auto runs_after = metric_value(text, "smtp_probe_runs_total", {{"target", "short"}, {"probe", "auth"}}).value_or(0);
  EXPECT_GE(runs_after - runs_before, 5) << text;
  // Every run in those 8 s passed: no failure counted, and more than one token was fetched.
  EXPECT_FALSE(metric_value(text, "smtp_probe_failures_total", {{"target", "short"}, {"probe", "auth"}}))
      << text;
  // Tokens this short are refreshed about once per run; never more (one request in flight).
  EXPECT_GE(endpoint_->count(), 3u);
  EXPECT_LE(static_cast<double>(endpoint_->count()), runs_after + 1);
}

// Google Workspace: a service account's RS256 assertion (sub = the mailbox), verified by the
// endpoint with the public key; the key file is the only file, the private key the canary.
TEST_F(oauth_exporter, service_account_flow_through_the_binary) {
  start_peer();
  const auto key = make_rsa_key();
  const auto public_key = dir_.write("sa.pub.pem", key.public_pem());
  start_endpoint(R"({"mode":"ok"})");
  boost::json::object jwt{{"public_key", public_key.string()},
                          {"issuer", "prober@p.iam.gserviceaccount.com"},
                          {"subject", "box@example.com"},
                          {"audience", endpoint_->url()},
                          {"scope", "https://mail.google.com/"}};
  endpoint_->set_script(boost::json::serialize(boost::json::object{{"mode", "ok"}, {"jwt", jwt}}));
  boost::json::object key_file{{"type", "service_account"},
                               {"client_email", "prober@p.iam.gserviceaccount.com"},
                               {"private_key", key.private_pem()},
                               {"token_uri", endpoint_->url()}};
  const auto key_path = dir_.write("sa.json", boost::json::serialize(key_file));
  const std::string config =
      defaults() + "[[target]]\nname = \"workspace\"\nhost = \"127.0.0.1\"\nport = " +
      std::to_string(smtp_port_) +
      "\ntls = \"none\"\nallow_plaintext = true\nprobes = [\"banner\", \"auth\"]\n\n"
      "[target.auth]\nusername = \"box@example.com\"\n\n[target.auth.oauth2]\n"
      "flow = \"service_account\"\nservice_account_key_file = \"" + key_path.string() +
      "\"\nscope = \"https://mail.google.com/\"\nca_file = \"" + pki_.root_file.string() + "\"\n";
  exporter_process exporter(dir_, config, {"--log.level=debug"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"workspace"}, "auth");
  EXPECT_EQ(probe_result(text, "workspace", "auth"), "success") << text << endpoint_->log();
  const auto sent = endpoint_->requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].at("grant").as_string(), "urn:ietf:params:oauth:grant-type:jwt-bearer");
  const std::string private_key_body = key.private_pem().substr(40, 40);
  EXPECT_EQ(text.find(private_key_body), std::string::npos);
  EXPECT_EQ(exporter.process().log().find(private_key_body), std::string::npos);
  expect_no_secret("/metrics", text, issued_tokens(issued_));
  expect_no_secret("the exporter's log at debug", exporter.process().log(), issued_tokens(issued_));
}

// Microsoft Entra app-only: client_credentials with a client secret from the environment.
TEST_F(oauth_exporter, client_credentials_flow_with_the_secret_in_the_environment) {
  start_peer();
  start_endpoint(R"({"mode":"ok","client_secret":")" + std::string(canary_secret) + R"("})");
  ::setenv("SMTP_TEST_CLIENT_SECRET", std::string(canary_secret).c_str(), 1);
  const std::string config =
      defaults() + "[[target]]\nname = \"app\"\nhost = \"127.0.0.1\"\nport = " +
      std::to_string(smtp_port_) +
      "\ntls = \"none\"\nallow_plaintext = true\nprobes = [\"banner\", \"auth\"]\n\n"
      "[target.auth]\nusername = \"box@example.com\"\nmechanism = \"XOAUTH2\"\n\n"
      "[target.auth.oauth2]\nflow = \"client_credentials\"\nclient_id = \"app-1\"\n"
      "client_secret_env = \"SMTP_TEST_CLIENT_SECRET\"\ntoken_url = \"" + endpoint_->url() +
      "\"\nscope = \"https://outlook.office365.com/.default\"\nca_file = \"" +
      pki_.root_file.string() + "\"\n";
  exporter_process exporter(dir_, config, {"--log.level=debug"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"app"}, "auth");
  EXPECT_EQ(probe_result(text, "app", "auth"), "success") << text << endpoint_->log();
  const auto sent = endpoint_->requests();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].at("grant").as_string(), "client_credentials");
  expect_no_secret("/metrics", text, issued_tokens(issued_));
  expect_no_secret("the exporter's log at debug", exporter.process().log(), issued_tokens(issued_));
}

// A /probe module with [module.NAME.auth.oauth2]: its token is fetched once and shared by the
// requests, like a target's.
TEST_F(oauth_exporter, probe_module_uses_its_token_source) {
  start_peer();
  start_endpoint(R"({"mode":"ok","expires_in":3600})");
  const std::string config =
      "[module.m365]\ntls = \"none\"\nallow_plaintext = true\nprobes = [\"banner\", \"auth\"]\n"
      "timeout = \"5s\"\nallowed_hosts = [\"127.0.0.1\"]\nallowed_ports = [" +
      std::to_string(smtp_port_) +
      "]\n\n[module.m365.auth]\nusername = \"box@example.com\"\n\n[module.m365.auth.oauth2]\n"
      "flow = \"refresh_token\"\nclient_id = \"client-1\"\nclient_secret_file = \"" +
      secret_file_.string() + "\"\nrefresh_token_file = \"" + refresh_file_.string() +
      "\"\ntoken_url = \"" + endpoint_->url() +
      "\"\nscope = \"https://outlook.office.com/SMTP.Send offline_access\"\nca_file = \"" +
      pki_.root_file.string() + "\"\n";
  exporter_process exporter(dir_, config);
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  const std::string path = "/probe?module=m365&target=127.0.0.1:" + std::to_string(smtp_port_);
  for (int i = 0; i < 3; ++i) {
    auto answer = http_request(exporter.port(), "GET", path);
    EXPECT_EQ(answer.status, 200) << answer.body;
    EXPECT_EQ(metric_value(answer.body, "smtp_probe_success", {{"probe", "auth"}}), 1) << answer.body;
    expect_no_secret("/probe", answer.body, issued_tokens(issued_));
  }
  EXPECT_EQ(endpoint_->count(), 1u);
}

TEST_F(oauth_exporter, endpoint_refusal_is_oauth2_token_unavailable_with_its_error_class) {
  start_peer();
  start_endpoint(R"({"mode":"invalid_grant"})");
  exporter_process exporter(dir_, defaults() + target("revoked"), {"--log.level=debug"});
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"revoked"}, "auth");
  EXPECT_EQ(probe_result(text, "revoked", "auth"), "oauth2_token_unavailable") << text;
  EXPECT_GE(metric_value(text, "smtp_oauth2_token_errors_total",
                         {{"target", "revoked"}, {"error", "invalid_grant"}}).value_or(0), 1);
  EXPECT_EQ(metric_value(text, "smtp_oauth2_token_expiry_timestamp_seconds", {{"target", "revoked"}}), 0);
  auto page = http_request(exporter.port(), "GET", "/probe/debug?target=revoked");
  EXPECT_NE(page.body.find("invalid_grant"), std::string::npos) << page.body;
  // The endpoint's error, with the provider's own code, is in the log line of the change.
  EXPECT_NE(exporter.process().log().find("oauth2_token_unavailable"), std::string::npos);
  EXPECT_NE(exporter.process().log().find("AADSTS"), std::string::npos) << exporter.process().log();
  // Back off: runs every second do not make a request each.
  std::this_thread::sleep_for(std::chrono::seconds(4));
  text = exporter.scrape();
  const auto runs = metric_value(text, "smtp_probe_runs_total", {{"target", "revoked"}, {"probe", "auth"}}).value_or(0);
  EXPECT_LT(static_cast<double>(endpoint_->count()), runs) << "every probe made a request";
  expect_no_secret("/metrics", text, {});
  expect_no_secret("the debug page", page.body, {});
  expect_no_secret("the exporter's log at debug", exporter.process().log(), {});
}

TEST_F(oauth_exporter, unreadable_client_secret_is_credentials_unavailable_not_a_load_error) {
  start_peer();
  start_endpoint(R"({"mode":"ok"})");
  fs::remove(secret_file_);
  exporter_process exporter(dir_, defaults() + target("nosecret"));
  ASSERT_TRUE(exporter.started()) << exporter.process().log();
  auto text = exporter.scrape_until_decided({"nosecret"}, "auth");
  EXPECT_EQ(probe_result(text, "nosecret", "auth"), "credentials_unavailable") << text;
  EXPECT_EQ(metric_value(text, "smtp_oauth2_token_source_ready", {{"target", "nosecret"}}), 0);
  EXPECT_EQ(endpoint_->count(), 0u);
}

TEST_F(oauth_exporter, config_check_opens_the_key_file_but_no_secret) {
  start_endpoint(R"({"mode":"ok"})");
  smtp_port_ = 2525;
  fs::remove(secret_file_);  // never opened by --config.check
  auto ok_config = dir_.write("ok.toml", defaults() + target("a"));
  auto ok = run({"--config.check", "--config.file", ok_config.string()});
  EXPECT_EQ(ok.status, 0) << ok.output;

  auto bad_key = dir_.write("sa.json", "{\"type\": \"service_account\"}");
  auto bad_config = dir_.write(
      "bad.toml",
      defaults() + "[[target]]\nname = \"ws\"\nhost = \"127.0.0.1\"\nport = 2525\ntls = \"none\"\n"
                   "allow_plaintext = true\nprobes = [\"auth\"]\n\n[target.auth]\nusername = "
                   "\"box@example.com\"\n\n[target.auth.oauth2]\nflow = \"service_account\"\n"
                   "service_account_key_file = \"" + bad_key.string() + "\"\ntoken_url = \"" +
                   endpoint_->url() + "\"\nscope = \"https://mail.google.com/\"\n");
  auto bad = run({"--config.check", "--config.file", bad_config.string()});
  EXPECT_NE(bad.status, 0) << bad.output;
  // FILE:LINE:COL at the key, naming the key.
  const auto text = read_text_file(bad_config);
  const auto line = 1 + std::count(text.begin(), text.begin() + text.find("service_account_key_file"), '\n');
  EXPECT_NE(bad.output.find(bad_config.string() + ":" + std::to_string(line) + ":"), std::string::npos)
      << bad.output;
  EXPECT_NE(bad.output.find("service_account_key_file"), std::string::npos) << bad.output;
  EXPECT_EQ(endpoint_->count(), 0u);
}

TEST_F(oauth_exporter, diagnose_prints_the_token_step_never_the_token) {
  start_peer();
  start_endpoint(R"({"mode":"ok","expires_in":3600})");
  auto config = dir_.write("c.toml", defaults() + target("diag"));
  auto text = run({"diagnose", "diag", "--config.file", config.string()});
  EXPECT_EQ(text.status, 0) << text.output;
  EXPECT_NE(text.output.find("token: refresh_token grant at 127.0.0.1 -> ok in "), std::string::npos)
      << text.output;
  EXPECT_NE(text.output.find("expires in 59 min"), std::string::npos) << text.output;
  auto json_run = run({"diagnose", "diag", "--config.file",
                               config.string(), "--output", "json"});
  EXPECT_EQ(json_run.status, 0) << json_run.output;
  EXPECT_NE(json_run.output.find("\"oauth2_token\""), std::string::npos) << json_run.output;
  // One token per diagnose run, used by the session too.
  EXPECT_EQ(endpoint_->count(), 2u);
  const auto issued = issued_tokens(issued_);
  expect_no_secret("diagnose", text.output, issued);
  expect_no_secret("diagnose --output json", json_run.output, issued);

  endpoint_->set_script(R"({"mode":"invalid_client"})");
  auto failed = run({"diagnose", "diag", "--config.file", config.string()});
  EXPECT_NE(failed.status, 0) << failed.output;
  EXPECT_NE(failed.output.find("-> failed in "), std::string::npos) << failed.output;
  EXPECT_NE(failed.output.find("invalid_client"), std::string::npos) << failed.output;
  expect_no_secret("diagnose (failed)", failed.output, issued);
}

}  // namespace
}  // namespace smtp_test
