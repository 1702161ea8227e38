// The exporter's lifecycle: start (config, web config, listener), signals, reload, stop. It wires
// the scheduler, the metrics collector, /probe and the HTTP routes together on one io_context;
// scrapes render on their own thread, pages and config parsing on a helper thread. Its HTTP
// endpoints are one table, built at construction in app_routes.cpp (routes.hpp); basic auth wraps
// the table (basic_auth.hpp); prepared_config.hpp loads a config file for start and reload.
//
// Thread-safety: construct, start() and run() on one thread; every other member runs on the
// io_context's single thread.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>

#include "config/config.hpp"
#include "exporter/checks/check_kinds.hpp"
#include "exporter/app/prepared_config.hpp"
#include "exporter/web/basic_auth.hpp"
#include "exporter/web/http_server.hpp"
#include "exporter/web/routes.hpp"
#include "exporter/render/metrics.hpp"
#include "exporter/app/probe_endpoint.hpp"
#include "exporter/runtime/off_loop.hpp"
#include "exporter/schedule/scheduler.hpp"
#include "exporter/schedule/shard.hpp"
#include "exporter/render/shared_render.hpp"
#include "exporter/views/status_page.hpp"
#include "exporter/schedule/target_status.hpp"
#include "exporter/web/web_security.hpp"
#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {

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
  // Names the exporter is reached by, besides IP addresses and localhost: /-/reload refuses a
  // Host header that names anything else (DNS rebinding; exporter/web/cross_site.hpp).
  std::vector<std::string> web_host_names;
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
  // The HTTP endpoints (app_routes.cpp): every one the exporter serves, with its methods, whether
  // it answers without credentials, and its handler.
  route_table make_routes();
  boost::asio::awaitable<http_response> serve_metrics(const http_request& request);
  boost::asio::awaitable<http_response> serve_reload(const http_request& request);
  boost::asio::awaitable<http_response> serve_status_page(const http_request& request);
  boost::asio::awaitable<http_response> serve_debug_page(const http_request& request);
  void wait_for_stop();
  void wait_for_reload();
  boost::asio::awaitable<void> reload_on_signal();

  app_options options_;
  boost::asio::io_context io_{1};
  // Off the event loop: scrapes on their own thread, so pages and reloads never delay them.
  boost::asio::thread_pool metrics_thread_{1};
  boost::asio::thread_pool helpers_{1};  // status pages, DNSBL key files
  // Reloads (the config and the files it names) and the web config's files: a read from a hung
  // mount holds this thread, never the helpers' nor the event loop. What waits for it has a
  // deadline (off_loop.hpp), and at shutdown the watchdog ends a process whose join hangs.
  boost::asio::thread_pool files_{1};
  // A reload stuck in a read refuses the next one at once; pages queue at most 8 deep.
  off_loop_gate reload_gate_{1};
  off_loop_gate pages_gate_{8};
  static constexpr std::chrono::milliseconds reload_deadline{10000};
  static constexpr std::chrono::milliseconds page_deadline{10000};
  status_store store_;
  exporter_state state_;
  metrics_collector collector_{store_, state_};
  shared_render shared_metrics_;
  scheduler scheduler_;
  // The kinds of check beside the sessions (DNSBL, …), hosted by the scheduler, which starts and
  // stops them with the sessions; they read their files on the helper threads.
  const check_runners checks_ = make_check_runners(io_.get_executor(), helpers_.get_executor());
  probe_endpoint probe_endpoint_;
  // One token source per [auth.oauth2] credential set, shared by targets and modules and kept
  // across reloads while the credential is unchanged (its gets run on io_).
  probes::oauth::token_cache tokens_{io_.get_executor()};
  token_registry token_registry_;
  // The status page's "Provider credentials" section for the running config (made at apply).
  mutable std::mutex provider_section_mutex_;
  std::string provider_section_;
  // The routes, behind the web config's basic auth; its bcrypt thread is stopped in ~app.
  basic_auth web_handler_;
  http_server http_;
  boost::asio::signal_set stop_signals_;
  boost::asio::signal_set reload_signals_;
  bool ready_ = false;
  // Targets (all shards) and modules of the running configuration: a reload to none is refused.
  std::size_t running_targets_and_modules_ = 0;
  bool reloading_ = false;
  std::shared_ptr<web_security> web_;
  int exit_code_ = 0;
};

}  // namespace smtp_exporter::exporter
