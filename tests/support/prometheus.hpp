// Test support: Debian's prometheus server on a free loopback port, and its HTTP API.
// Storage lives in the test's temp dir; the process is stopped on destruction.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "tests/support/harness.hpp"

namespace smtp_test {

struct prometheus_api_result {
  bool ok = false;
  std::string error;  // transport, HTTP or Prometheus error
  boost::json::value data;
};

// The `result` array of a query's data (empty when absent).
const boost::json::array& prometheus_result(const prometheus_api_result& r);
// A label of one series of a query result ("" when absent), and its sample value.
std::string prometheus_label(const boost::json::value& series, const std::string& name);
double prometheus_value(const boost::json::value& series);

class prometheus_server {
 public:
  // Scrapes every exporter port once a second as job `job`; evaluates `rules` if given.
  prometheus_server(const temp_dir& dir, const std::vector<std::uint16_t>& exporter_ports,
                    const std::string& job, const fs::path& rules = {});
  // Runs with the caller's own prometheus.yml text (e.g. a /probe job with relabelling).
  prometheus_server(const temp_dir& dir, const std::string& config_yaml);
  ~prometheus_server();
  prometheus_server(const prometheus_server&) = delete;
  prometheus_server& operator=(const prometheus_server&) = delete;

  bool started() const { return port_ != 0; }
  std::string log() const;
  prometheus_api_result query(const std::string& expr);
  // Over the last `range`, one point per `step`.
  prometheus_api_result query_range(const std::string& expr, std::chrono::seconds range,
                                    std::chrono::seconds step);
  prometheus_api_result get(const std::string& path);

 private:
  std::unique_ptr<child_process> process_;
  std::uint16_t port_ = 0;
};

}  // namespace smtp_test
