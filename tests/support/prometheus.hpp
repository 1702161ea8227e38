// Debian's Prometheus server (/usr/bin/prometheus) for tests: started on a free loopback port with
// the test's own prometheus.yml, storage in the test's temp dir, stopped on destruction.
#pragma once

#include <boost/json.hpp>

#include <memory>
#include <string>

#include "tests/support/harness.hpp"

namespace smtp_test {

inline const fs::path prometheus_binary = "/usr/bin/prometheus";

class prometheus_server {
 public:
  // Waits (up to 30 s per attempt, three attempts on port races) until /-/ready answers.
  prometheus_server(const temp_dir& dir, const std::string& config_yaml);
  ~prometheus_server();
  prometheus_server(const prometheus_server&) = delete;
  prometheus_server& operator=(const prometheus_server&) = delete;

  bool started() const { return port_ != 0; }
  std::uint16_t port() const { return port_; }
  std::string log() const { return process_ ? process_->log() : ""; }

  // The `result` array of an instant query; empty (with `error` set) when it failed.
  boost::json::array query(const std::string& expr, std::string& error) const;

 private:
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
};

// A reply's body from Go's HTTP server, which answers larger bodies with chunked encoding.
std::string unchunked_body(const http_reply& r);

}  // namespace smtp_test
