// tests/peers/token_endpoint.py (a scripted HTTPS OAuth 2.0 token endpoint) as a test object: the
// process, its script (rewritten between requests to change its behaviour) and its request log
// (one JSON line per request: what reached it, never a secret).
#pragma once

#include <boost/json/object.hpp>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"

namespace smtp_test {

class token_endpoint {
 public:
  // `leaf` selects the certificate it serves; `extra` are more flags (e.g. "--issued", FILE).
  token_endpoint(const temp_dir& dir, const test_pki::leaf& leaf, const std::string& script,
                 std::vector<std::string> extra = {});
  void set_script(const std::string& script);
  std::uint16_t port() const { return port_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/token"; }
  std::vector<boost::json::object> requests() const;
  std::size_t count() const { return requests().size(); }
  std::string log() const { return process_->log(); }

 private:
  static inline int instances_ = 0;
  fs::path script_, log_;
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
};

}  // namespace smtp_test
