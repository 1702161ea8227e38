#include "exporter/app/app.hpp"

#include <algorithm>
#include <exception>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "exporter/runtime/clock.hpp"
#include "exporter/schedule/delivery_readback.hpp"
#include "exporter/runtime/log.hpp"
#include "exporter/web/gzip.hpp"
#include "exporter/web/web_security_watch.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

namespace {

std::string render_metrics(const metrics_collector& collector, bool gzip) {
  if (!gzip) return collector.render();
  // Compressed family by family: the scrape's whole text never exists in memory.
  gzip_stream out;
  collector.render_pieces([&](std::string_view piece) { out.write(piece); });
  return out.finish();
}

}  // namespace

app::app(app_options options)
    : options_(std::move(options)),
      shared_metrics_(io_.get_executor(), metrics_thread_.get_executor(),
                      [this](bool gzip) { return render_metrics(collector_, gzip); }),
      scheduler_(io_.get_executor(), store_,
                 scheduler::settings{options_.max_in_flight, options_.startup_window}),
      probe_endpoint_(io_.get_executor()),
      web_handler_(make_routes()),
      http_(io_.get_executor(), [this](const http_request& r) { return web_handler_.handle(r); },
            options_.http_limits),
      stop_signals_(io_, SIGTERM, SIGINT),
      reload_signals_(io_, SIGHUP) {
  state_.probes_in_flight = [this] { return scheduler_.in_flight(); };
  state_.web_connections = [this] {
    const auto& s = http_.stats();
    return web_connection_stats{static_cast<double>(s.open.load()),
                                static_cast<double>(s.evicted.load()),
                                static_cast<double>(s.refused_full.load()),
                                static_cast<double>(s.header_timeouts.load()),
                                static_cast<double>(s.evicted_slow_reader.load())};
  };
  state_.shard_index = options_.shard.index;
  state_.shard_count = options_.shard.count;
  state_.check_families = [this] {
    auto families = check_families(checks_);
    for (auto& f : token_registry_.families()) families.push_back(std::move(f));
    return families;
  };
  for (const auto& check : checks_) scheduler_.host(check);
}

app::~app() {
  io_.stop();
  web_handler_.stop();
  metrics_thread_.stop();
  helpers_.stop();
  files_.stop();
  metrics_thread_.join();
  helpers_.join();
  // A read from a hung mount never returns: main() armed the shutdown watchdog before this.
  files_.join();
}

status_page_options app::status_options() const {
  status_page_options options;
  options.telemetry_path = options_.telemetry_path;
  options.shard_index = options_.shard.index;
  options.shard_count = options_.shard.count;
  options.configured_targets = state_.configured_targets.load();
  return options;
}

void app::apply(prepared_config& prepared) {
  auto& targets = prepared.config->targets;
  running_targets_and_modules_ = targets.size() + prepared.config->modules.size();
  state_.configured_targets = targets.size();
  if (options_.shard.sharded()) {
    std::erase_if(targets, [&](const auto& t) { return !options_.shard.owns(t.name); });
  }
  // This replica's targets only, on /metrics and the status page as in the scheduler.
  std::map<std::string, oauth_binding> target_tokens;
  for (const auto& t : targets) {
    if (auto it = prepared.tokens.targets.find(t.name); it != prepared.tokens.targets.end())
      target_tokens.emplace(t.name, it->second);
  }
  token_registry_.set(target_tokens);
  // The delivery probes' IMAP logins go to the scheduler, not to the SMTP token series.
  for (const auto& t : targets) {
    const auto key = imap_resource_key(t.name);
    if (auto it = prepared.tokens.targets.find(key); it != prepared.tokens.targets.end())
      target_tokens.emplace(key, it->second);
  }
  {
    std::vector<std::pair<std::string, bool>> providers;
    for (const auto& t : targets) {
      const bool password = t.auth && !t.auth->oauth2 && t.auth->token_file.empty();
      providers.emplace_back(t.provider, password);
    }
    auto section = render_provider_credentials_section(providers);
    std::lock_guard lock(provider_section_mutex_);
    provider_section_ = std::move(section);
  }
  scheduler_.apply(targets, std::move(prepared.tls_contexts), std::move(target_tokens));
  // Egress IPs are every replica's own; target addresses only this shard's.
  for (const auto& check : checks_) check->apply(*prepared.config, targets);
  // Every replica answers /probe for every module: Prometheus picks the replica it scrapes.
  probe_endpoint_.apply(prepared.config->modules, std::move(prepared.module_tls_contexts),
                        std::move(prepared.tokens.modules));
  // The sources of the previous config that this one no longer uses (a session in flight still
  // holds its own).
  prepared.tokens = {};
  tokens_.prune_unused();
}

bool app::start() {
  if (!options_.web_config_file.empty()) {
    std::vector<std::string> errors;
    auto web = web_security::load(options_.web_config_file, errors);
    if (!web) {
      for (const auto& e : errors) log::error("invalid web configuration", {{"err", e}});
      return false;
    }
    web_ = std::move(*web);
    web_handler_.secure_with(web_);
    auto state = web_->current();
    if (state->tls) {
      // Per connection: a certificate rotated on disk applies to the next connection.
      http_.set_tls([web = web_] { return web->current()->tls; });
    }
    log::info("web configuration loaded",
              {{"file", options_.web_config_file},
               {"tls", state->tls ? "on" : "off"},
               {"basic_auth_users", std::to_string(state->config.users.size())}});
    if (!state->cost_warning.empty()) log::warn("web configuration", {{"warning", state->cost_warning}});
  }
  auto loaded = prepare_config(options_.config_file, &tokens_);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) log::error("invalid configuration", {{"err", e}});
    return false;
  }
  for (const auto& w : loaded.config->warnings) log::warn("configuration", {{"warning", w}});
  apply(loaded);
  std::string error;
  state_.config_last_reload_successful = true;
  state_.config_last_reload_success_timestamp = unix_now();
  // apply() kept this shard's share in loaded.config: name both counts when sharded.
  log::info("configuration loaded",
            {{"file", options_.config_file},
             {"targets", std::to_string(state_.configured_targets.load())},
             {"probed_here", std::to_string(loaded.config->targets.size())}});

  asio::ip::tcp::endpoint endpoint;
  if (!parse_listen_address(options_.listen_address, endpoint, error) ||
      !http_.listen(endpoint, error)) {
    log::error("cannot start HTTP server", {{"err", error}});
    return false;
  }
  auto bound = http_.local_endpoint();
  const auto address = config::host_port(bound.address().to_string(), bound.port());
  log::info("listening", {{"address", address},
                          {"telemetry_path", options_.telemetry_path}});
  // A process that probes on without its web port would look healthy to nobody and alert nobody:
  // stop, and let the supervisor (kubelet, systemd) restart it.
  http_.on_listener_failed([this](const std::string& why) {
    log::error("stopping: the web port no longer accepts connections", {{"err", why}});
    exit_code_ = 1;
    ready_ = false;
    scheduler_.stop();
    io_.stop();
  });
  http_.start();
  if (web_) {
    asio::co_spawn(io_,
                   watch_web_security(web_, files_.get_executor(),
                                      options_.web_config_check_interval, options_.web_config_file),
                   asio::detached);
  }
  wait_for_stop();
  wait_for_reload();
  ready_ = true;
  return true;
}

void app::wait_for_stop() {
  stop_signals_.async_wait([this](boost::system::error_code ec, int signal) {
    if (ec) return;
    log::info("shutting down", {{"signal", std::to_string(signal)}});
    ready_ = false;
    http_.stop();
    scheduler_.stop();  // and the hosted check runners
    reload_signals_.cancel();
    // Sessions in flight are abandoned: a prober has nothing to flush, and Kubernetes wants a
    // prompt exit.
    io_.stop();
  });
}

void app::wait_for_reload() {
  reload_signals_.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    asio::co_spawn(io_, reload_on_signal(), asio::detached);
  });
}

asio::awaitable<void> app::reload_on_signal() {
  try {
    co_await reload("signal");
  } catch (const std::exception& e) {
    log::error("configuration reload failed", {{"trigger", "signal"}, {"err", e.what()}});
  }
  wait_for_reload();  // whatever happened, the next SIGHUP is heard
}

void app::run() { io_.run(); }

asio::awaitable<app::reload_outcome> app::reload(std::string trigger) {
  if (reloading_) {
    log::warn("configuration reload skipped: another is in progress", {{"trigger", trigger}});
    co_return reload_outcome{false, "a reload is already in progress"};
  }
  reloading_ = true;
  struct reset_flag {
    bool& flag;
    ~reset_flag() { flag = false; }
  } reset{reloading_};

  reload_outcome outcome;
  prepared_config prepared;
  // On the files thread with a deadline: a read from a hung mount (a FIFO or a device is refused
  // at once by the bounded reader) is given up on, and the running config stays.
  auto work = [path = options_.config_file, tokens = &tokens_] {
    return prepare_config(path, tokens);
  };
  const auto deadline = reload_deadline;
  try {
    auto run = co_await run_off_loop<prepared_config>(reload_gate_, files_.get_executor(),
                                                      std::move(work), deadline);
    if (run.status == off_loop_status::done) {
      prepared = std::move(*run.value);
    } else if (run.status == off_loop_status::timed_out) {
      prepared.errors.push_back(options_.config_file + ": reading the configuration did not finish "
                                "within " + std::to_string(deadline.count() / 1000) +
                                " s (a hung mount?); keeping the running configuration");
    } else {
      prepared.errors.push_back(options_.config_file + ": an earlier reload is still reading the "
                                "configuration (a hung mount?); not starting another");
    }
  } catch (const std::exception& e) {
    prepared.errors.push_back(options_.config_file + ": " + e.what());
  }
  if (prepared.config && prepared.config->targets.empty() && prepared.config->modules.empty() &&
      running_targets_and_modules_ > 0) {
    // An empty or truncated file (a write in progress, a failed template render) would drop
    // every series at once: never what a reload is for. Restart to run with no target.
    prepared.errors.push_back(options_.config_file +
                              ": refused: the new configuration has no target and no module, "
                              "the running one has " +
                              std::to_string(running_targets_and_modules_) +
                              " (an empty or truncated file?); restart the exporter to run "
                              "without any");
    prepared.config.reset();
  }
  if (prepared.config) {
    for (const auto& w : prepared.config->warnings) log::warn("configuration", {{"warning", w}});
    const auto targets = prepared.config->targets.size();
    apply(prepared);
    outcome.ok = true;
    outcome.message = "configuration reloaded: " + std::to_string(targets) + " targets";
    state_.config_last_reload_success_timestamp = unix_now();
    log::info("configuration reloaded",
              {{"trigger", trigger}, {"targets", std::to_string(targets)}});
  } else {
    for (const auto& e : prepared.errors) {
      if (!outcome.message.empty()) outcome.message += "\n";
      outcome.message += e;
    }
    log::error("configuration reload failed; keeping the running configuration",
               {{"trigger", trigger}, {"err", outcome.message}});
  }
  state_.config_last_reload_successful = outcome.ok;
  co_return outcome;
}

}  // namespace smtp_exporter::exporter
