// Wires the exporter together: config loading and reload, TLS contexts, the scheduler, the
// metrics collector and the HTTP routes, all on one io_context; scrapes render on a helper thread.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "exporter/http_server.hpp"
#include "exporter/metrics.hpp"
#include "exporter/scheduler.hpp"
#include "exporter/target_status.hpp"

namespace smtp_exporter::exporter {

struct app_options {
  std::string config_file;
  std::string listen_address = ":9465";
  std::string telemetry_path = "/metrics";
  std::size_t max_in_flight = 512;
};

class app {
 public:
  explicit app(app_options options);
  ~app();

  // Loads the config, binds the listener and starts everything; false (with a log line) on error.
  bool start();
  // Runs the event loop until SIGTERM/SIGINT.
  void run();
  boost::asio::ip::tcp::endpoint http_endpoint() const { return http_.local_endpoint(); }

 private:
  struct reload_outcome {
    bool ok = false;
    std::string message;
  };
  // Parses the config file off the event loop, then applies it on the loop.
  boost::asio::awaitable<reload_outcome> reload(std::string trigger);
  bool apply(const config::exporter_config& cfg, std::string& error);
  boost::asio::awaitable<http_response> handle(const http_request& request);
  void wait_for_stop();
  void wait_for_reload();
  boost::asio::awaitable<void> reload_on_signal();

  app_options options_;
  boost::asio::io_context io_{1};
  boost::asio::thread_pool helpers_{1};  // scrapes and config parsing, off the event loop
  status_store store_;
  exporter_state state_;
  metrics_collector collector_{store_, state_};
  scheduler scheduler_;
  http_server http_;
  boost::asio::signal_set stop_signals_;
  boost::asio::signal_set reload_signals_;
  bool ready_ = false;
  bool reloading_ = false;
};

}  // namespace smtp_exporter::exporter
