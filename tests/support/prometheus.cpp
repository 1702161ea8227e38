#include "tests/support/prometheus.hpp"

#include <csignal>
#include <thread>

#include "common/text_escape.hpp"  // url_encode

namespace smtp_test {
namespace json = boost::json;
using clock = std::chrono::steady_clock;

namespace {

const fs::path prometheus_binary = "/usr/bin/prometheus";

// Go's HTTP server answers larger bodies with chunked transfer encoding.
std::string dechunked(const http_reply& r) {
  auto te = r.headers.find("transfer-encoding");
  if (te == r.headers.end() || te->second.find("chunked") == std::string::npos) return r.body;
  std::string out;
  std::size_t i = 0;
  while (i < r.body.size()) {
    auto eol = r.body.find("\r\n", i);
    if (eol == std::string::npos) break;
    std::size_t size = std::stoul(r.body.substr(i, eol - i), nullptr, 16);
    if (size == 0) break;
    out.append(r.body, eol + 2, size);
    i = eol + 2 + size + 2;
  }
  return out;
}

std::string text(const json::value& v) { return v.is_string() ? std::string(v.as_string()) : ""; }

}  // namespace

const json::array& prometheus_result(const prometheus_api_result& r) {
  static const json::array empty;
  if (!r.data.is_object() || !r.data.as_object().contains("result")) return empty;
  const auto& res = r.data.as_object().at("result");
  return res.is_array() ? res.as_array() : empty;
}

std::string prometheus_label(const json::value& series, const std::string& name) {
  const auto& metric = series.as_object().at("metric").as_object();
  return metric.contains(name) ? text(metric.at(name)) : "";
}

double prometheus_value(const json::value& series) {
  return std::stod(text(series.as_object().at("value").as_array().at(1)));
}

static std::string scrape_config(const std::vector<std::uint16_t>& exporter_ports,
                                 const std::string& job, const fs::path& rules) {
  std::string yaml = "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n";
  yaml += "  evaluation_interval: 1s\n";
  if (!rules.empty()) yaml += "rule_files:\n  - " + rules.string() + "\n";
  yaml += "scrape_configs:\n  - job_name: " + job + "\n    static_configs:\n      - targets:\n";
  for (auto p : exporter_ports) yaml += "          - '127.0.0.1:" + std::to_string(p) + "'\n";
  return yaml;
}

prometheus_server::prometheus_server(const temp_dir& dir,
                                     const std::vector<std::uint16_t>& exporter_ports,
                                     const std::string& job, const fs::path& rules)
    : prometheus_server(dir, scrape_config(exporter_ports, job, rules)) {}

prometheus_server::prometheus_server(const temp_dir& dir, const std::string& config_yaml) {
  auto data = dir.path() / "prometheus-data";
  fs::create_directories(data);
  auto config = dir.write("prometheus.yml", config_yaml);
  for (int attempt = 0; attempt < 3 && port_ == 0; ++attempt) {
    auto port = unused_port();
    process_ = std::make_unique<child_process>(
        std::vector<std::string>{prometheus_binary.string(), "--config.file=" + config.string(),
                                 "--storage.tsdb.path=" + data.string(),
                                 "--web.listen-address=127.0.0.1:" + std::to_string(port),
                                 "--log.level=info"},
        dir.path() / "prometheus.log");
    auto deadline = clock::now() + 30s;
    while (clock::now() < deadline && process_->running()) {
      if (http_request(port, "GET", "/-/ready", 1s).status == 200) {
        port_ = port;
        break;
      }
      std::this_thread::sleep_for(100ms);
    }
  }
}

prometheus_server::~prometheus_server() {
  if (process_ && !process_->terminate(10s)) process_->signal(SIGKILL);
}

std::string prometheus_server::log() const { return process_ ? process_->log() : ""; }

prometheus_api_result prometheus_server::query(const std::string& expr) {
  return get("/api/v1/query?query=" + smtp_exporter::url_encode(expr));
}

prometheus_api_result prometheus_server::query_range(const std::string& expr,
                                                     std::chrono::seconds range,
                                                     std::chrono::seconds step) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return get("/api/v1/query_range?query=" + smtp_exporter::url_encode(expr) +
             "&start=" + std::to_string(now - range.count()) + "&end=" + std::to_string(now) +
             "&step=" + std::to_string(step.count()));
}

prometheus_api_result prometheus_server::get(const std::string& path) {
  prometheus_api_result out;
  auto reply = http_request(port_, "GET", path, 15s);
  if (reply.status == 0) {
    out.error = "no answer from Prometheus for " + path;
    return out;
  }
  boost::system::error_code ec;
  auto v = json::parse(dechunked(reply), ec);
  if (ec || !v.is_object()) {
    out.error = "HTTP " + std::to_string(reply.status) + ", not JSON: " + reply.body.substr(0, 300);
    return out;
  }
  const auto& o = v.as_object();
  if (o.contains("status") && o.at("status") == "success") {
    out.ok = true;
    out.data = o.contains("data") ? o.at("data") : json::value();
  } else {
    out.error = "HTTP " + std::to_string(reply.status) + ": " + json::serialize(v);
  }
  return out;
}

}  // namespace smtp_test
