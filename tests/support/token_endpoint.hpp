// Test support: tests/peers/token_endpoint.py, a scripted HTTPS OAuth 2.0 token endpoint on
// loopback serving a certificate of the test's own PKI. Its request log (one JSON line per
// request, no secrets) counts what reached it; with `issued` it also lists the access tokens it
// issued, for tests/peers/aiosmtpd_server.py --oauth-issued.
// Header-only: used by the oauth_* integration tests. Thread-safety: none (one test's object).
#pragma once

#include <boost/json.hpp>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "probes/oauth/token_cache.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"

namespace smtp_test {

class token_endpoint {
 public:
  // `script`: the endpoint's behaviour (see token_endpoint.py); `issued`: where it lists the
  // tokens it issues (none when empty).
  token_endpoint(const temp_dir& dir, const test_pki::leaf& leaf, const std::string& script,
                 const fs::path& issued = {})
      : script_(dir.path() / ("script" + std::to_string(++instances_) + ".json")),
        log_(dir.path() / ("requests" + std::to_string(instances_) + ".jsonl")) {
    set_script(script);
    std::vector<std::string> argv{"/usr/bin/python3",
                                  (source_dir() / "tests/peers/token_endpoint.py").string(),
                                  "--cert", leaf.chain_file.string(), "--key",
                                  leaf.key_file.string(), "--script", script_.string(), "--log",
                                  log_.string()};
    if (!issued.empty()) {
      argv.push_back("--issued");
      argv.push_back(issued.string());
    }
    process_ = std::make_unique<child_process>(
        std::move(argv), dir.path() / ("endpoint" + std::to_string(instances_) + ".log"));
    port_ = process_->wait_ready();
  }
  void set_script(const std::string& script) {
    if (fs::exists(script_)) {
      replace_file(script_, script);
    } else {
      std::ofstream(script_) << script;
    }
  }
  std::uint16_t port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/token"; }
  std::vector<boost::json::object> requests() const {
    std::vector<boost::json::object> out;
    std::ifstream in(log_);
    for (std::string line; std::getline(in, line);) {
      out.push_back(boost::json::parse(line).as_object());
    }
    return out;
  }
  std::size_t count() const { return requests().size(); }
  std::string log() const { return process_->log(); }

 private:
  static inline int instances_ = 0;
  fs::path script_, log_;
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
};

// A cache for tests: request timeout 3 s, backoff 400 ms to 2 s without jitter.
inline smtp_exporter::probes::oauth::token_cache_options quick_cache_options() {
  smtp_exporter::probes::oauth::token_cache_options options;
  options.request_timeout = std::chrono::seconds(3);
  options.backoff_initial = std::chrono::milliseconds(400);
  options.backoff_max = std::chrono::seconds(2);
  options.backoff_jitter = 0;
  return options;
}

}  // namespace smtp_test
