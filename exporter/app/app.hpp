// Wires the exporter together: config loading and reload, TLS contexts, the scheduler, the
// metrics collector and the HTTP routes, all on one io_context; scrapes render on a helper thread.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <vector>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "exporter/checks/check_kinds.hpp"
#include "exporter/web/http_server.hpp"
#include "exporter/render/metrics.hpp"
#include "exporter/app/probe_endpoint.hpp"
#include "exporter/schedule/scheduler.hpp"
#include "exporter/schedule/shard.hpp"
#include "exporter/render/shared_render.hpp"
#include "exporter/views/status_page.hpp"
#include "exporter/schedule/target_status.hpp"
#include "exporter/web/web_security.hpp"
#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {

// A config file parsed and its TLS contexts loaded, ready to apply; or the errors.
struct prepared_config {
  std::optional<config::exporter_config> config;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls_contexts;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> module_tls_contexts;
  std::vector<std::string> errors;
};

// Parses `path` and loads what start-up loads without the network: every target's TLS files. Each
// error is "FILE:LINE:COLUMN: KEY: message"; all of them, not just the first. Secrets
// (password_file, token_file, password_env) are read at every probe, not here.
prepared_config prepare_config(const std::string& path);

// The error for a TLS file that did not load, at the key that named it.
std::string tls_file_error(const config::exporter_config& config, std::size_t target,
                           const probes::tls_context_error& failure);

struct app_options {
  std::string config_file;
  std::string listen_address = ":9465";
  std::string telemetry_path = "/metrics";
  std::size_t max_in_flight = 512;
  http_server::limits http_limits;
  std::string web_config_file;  // exporter-toolkit web config (TLS, basic auth); empty: none
  std::chrono::seconds web_config_check_interval{5};  // how often its files are looked at
  std::chrono::milliseconds startup_window{10000};  // first runs of all targets within this
  shard_spec shard;  // this replica probes only its share of the configured targets
};

class app {
 public:
  explicit app(app_options options);
  ~app();

  // Loads the config, binds the listener and starts everything; false (with a log line) on error.
  bool start();
  // Runs the event loop until SIGTERM/SIGINT.
  void run();
  // 0 after a signal stopped the exporter; 1 when it stopped because its listener failed.
  int exit_code() const { return exit_code_; }
  boost::asio::ip::tcp::endpoint http_endpoint() const { return http_.local_endpoint(); }

 private:
  struct reload_outcome {
    bool ok = false;
    std::string message;
  };
  // Parses the config file off the event loop, then applies it on the loop.
  boost::asio::awaitable<reload_outcome> reload(std::string trigger);
  void apply(prepared_config& prepared);
  status_page_options status_options() const;
  // Basic auth and the configured headers around route().
  boost::asio::awaitable<http_response> handle(const http_request& request);
  boost::asio::awaitable<http_response> route(const http_request& request);
  // nullopt when the request may proceed; else the answer (401, or 429 when too many checks wait).
  boost::asio::awaitable<std::optional<http_response>> authorize(
      std::shared_ptr<const web_state> web, const http_request& request);
  boost::asio::awaitable<void> watch_web_config();
  void wait_for_stop();
  void wait_for_reload();
  boost::asio::awaitable<void> reload_on_signal();

  app_options options_;
  boost::asio::io_context io_{1};
  // Off the event loop: scrapes on their own thread, so pages and reloads never delay them.
  boost::asio::thread_pool metrics_thread_{1};
  boost::asio::thread_pool helpers_{1};  // status pages, config parsing and TLS context loading
  status_store store_;
  exporter_state state_;
  metrics_collector collector_{store_, state_};
  shared_render shared_metrics_;
  scheduler scheduler_;
  // The kinds of check beside the sessions (DNSBL, …), hosted by the scheduler, which starts and
  // stops them with the sessions; they read their files on the helper threads.
  const check_runners checks_ = make_check_runners(io_.get_executor(), helpers_.get_executor());
  probe_endpoint probe_endpoint_;
  http_server http_;
  boost::asio::signal_set stop_signals_;
  boost::asio::signal_set reload_signals_;
  bool ready_ = false;
  bool reloading_ = false;
  std::shared_ptr<web_security> web_;
  // bcrypt checks (tens of ms each) run here, never on the loop; at most this many wait.
  boost::asio::thread_pool auth_checks_{1};
  std::size_t auth_checks_pending_ = 0;
  static constexpr std::size_t max_auth_checks_pending = 8;
  int exit_code_ = 0;
};

}  // namespace smtp_exporter::exporter
