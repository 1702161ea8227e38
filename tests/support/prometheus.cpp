#include "tests/support/prometheus.hpp"

#include <csignal>
#include <thread>

#include "exporter/status_page.hpp"

namespace smtp_test {

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
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline && process_->running()) {
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

boost::json::array prometheus_server::query(const std::string& expr, std::string& error) const {
  auto reply = http_request(port_, "GET",
                            "/api/v1/query?query=" + smtp_exporter::exporter::url_encode(expr), 15s);
  boost::system::error_code ec;
  auto v = boost::json::parse(unchunked_body(reply), ec);
  const auto* o = v.if_object();
  if (ec || o == nullptr || !o->contains("status") || o->at("status") != "success") {
    error = "HTTP " + std::to_string(reply.status) + ": " + reply.body.substr(0, 300);
    return {};
  }
  const auto* data = o->at("data").if_object();
  const auto* result = data != nullptr && data->contains("result") ? data->at("result").if_array()
                                                                   : nullptr;
  return result != nullptr ? *result : boost::json::array{};
}

std::string unchunked_body(const http_reply& r) {
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

}  // namespace smtp_test
