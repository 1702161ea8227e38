#include "exporter/runtime/clock.hpp"
#include "exporter/web/gzip.hpp"
#include "exporter/app/app.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "exporter/web/cross_site.hpp"
#include "exporter/runtime/log.hpp"
#include "exporter/views/status_page.hpp"
#include "common/secret.hpp"
#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// The key that named the file that failed.
const config::key_source& failed_source(const config::tls_file_sources& files,
                                        const probes::tls_context_error& failure) {
  using file = probes::tls_context_error::file;
  return failure.failed == file::ca_file     ? files.ca_file
         : failure.failed == file::cert_file ? files.cert_file
                                             : files.key_file;
}

std::string module_tls_file_error(const config::probe_module& module,
                                  const probes::tls_context_error& failure) {
  const auto& source = failed_source(module.tls_files, failure);
  if (!source.position.empty()) return source.error(failure.message);
  return "module " + module.name + ": " + failure.message;
}

}  // namespace

// Parses the file and loads every TLS context it needs (CA bundles, client certificates): all the
// file I/O of a reload, so that it can run off the event loop.
prepared_config prepare_config(const std::string& path) {
  prepared_config out;
  auto loaded = config::load_file(path);
  if (!loaded.ok()) {
    out.errors = std::move(loaded.errors);
    return out;
  }
  // One context per distinct trust store and client certificate, loaded now rather than at probe
  // time, so a missing CA file is a reload error, not a failing probe. A file that fails is
  // reported once, at the key that names it, and the others are still checked.
  const auto& targets = loaded.config->targets;
  std::map<std::tuple<std::string, std::string, std::string>, std::shared_ptr<asio::ssl::context>>
      by_files;
  // One context per distinct set of files; `error_for` words a failure at the key that named it.
  auto context_for = [&](const config::tls_settings& tls,
                         const auto& error_for) -> std::shared_ptr<asio::ssl::context> {
    auto key = std::make_tuple(tls.ca_file, tls.cert_file, tls.key_file);
    auto it = by_files.find(key);
    if (it == by_files.end()) {
      probes::tls_context_error failure;
      auto ctx =
          probes::make_client_context({tls.ca_file, tls.cert_file, tls.key_file}, failure);
      if (!ctx) {
        auto error = error_for(failure);
        if (std::find(out.errors.begin(), out.errors.end(), error) == out.errors.end())
          out.errors.push_back(std::move(error));
      }
      it = by_files.emplace(key, std::move(ctx)).first;
    }
    return it->second;
  };
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    if (t.tls == config::tls_mode::none) continue;
    auto ctx = context_for(*t.tls_config, [&](const probes::tls_context_error& failure) {
      return tls_file_error(*loaded.config, i, failure);
    });
    if (ctx) out.tls_contexts[t.name] = std::move(ctx);
  }
  // A module without an explicit tls mode may meet a TLS port, so it gets a context too.
  for (const auto& m : loaded.config->modules) {
    if (m.tls_explicit && m.settings.tls == config::tls_mode::none) continue;
    auto ctx = context_for(*m.settings.tls_config, [&](const probes::tls_context_error& failure) {
      return module_tls_file_error(m, failure);
    });
    if (ctx) out.module_tls_contexts[m.name] = std::move(ctx);
  }
  if (out.errors.empty()) out.config = std::move(loaded.config);
  return out;
}

std::string tls_file_error(const config::exporter_config& config, std::size_t target,
                           const probes::tls_context_error& failure) {
  if (target < config.tls_files.size()) {
    const auto& source = failed_source(config.tls_files[target], failure);
    if (!source.position.empty()) return source.error(failure.message);
  }
  // The system CA store, or a config not read from a file: no key to point at.
  return "target " + config.targets.at(target).name + ": " + failure.message;
}

namespace {

// Work for the helper thread. Free coroutines taking parameters by value: GCC 12 mis-destroys
// lambda captures of coroutines passed to co_spawn (double free seen on reload).
asio::awaitable<prepared_config> prepare_config_async(std::string path) {
  co_return prepare_config(path);
}

std::string render_metrics(const metrics_collector& collector, bool gzip) {
  if (!gzip) return collector.render();
  // Compressed family by family: the scrape's whole text never exists in memory.
  gzip_stream out;
  collector.render_pieces([&](std::string_view piece) { out.write(piece); });
  return out.finish();
}

// The pages read the published records in place (shared_snapshot): no record is copied.
asio::awaitable<std::string> render_status(const status_store* store,
                                           status_page_options options,
                                           const check_runners* checks) {
  options.now = unix_now();
  co_return render_status_page(store->shared_snapshot(), options, check_sections(*checks));
}

// One bcrypt check on the auth thread. `authorization` is the header's value: a secret, wiped.
asio::awaitable<bool> check_basic_auth(std::shared_ptr<web_security> security,
                                       std::shared_ptr<const web_state> state,
                                       std::string authorization) {
  const bool ok = security->check(*state, authorization);
  smtp_exporter::cleanse(authorization);
  co_return ok;
}

asio::awaitable<web_security::refresh_outcome> refresh_web(std::shared_ptr<web_security> security) {
  co_return security->refresh();
}

// Paths that answer without basic auth: kubelet probes cannot send credentials, and these say
// nothing but "alive" and "ready" (docs/security.md).
bool auth_exempt(std::string_view path) { return path == "/-/healthy" || path == "/-/ready"; }

asio::awaitable<std::optional<std::string>> render_debug(const status_store* store,
                                                         std::string name) {
  auto status = store->find(name);
  if (!status) co_return std::nullopt;
  co_return render_debug_page(*status, unix_now());
}

http_response html_response(std::string body) {
  http_response r{http::status::ok, 11};
  r.set(http::field::content_type, "text/html; charset=utf-8");
  // The pages have no script and load nothing: say so, so injected markup could not either.
  r.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  r.set("X-Content-Type-Options", "nosniff");
  r.body() = std::move(body);
  return r;
}

http_response text_response(http::status status, std::string body) {
  http_response r{status, 11};
  r.set(http::field::content_type, "text/plain; charset=utf-8");
  r.body() = std::move(body);
  return r;
}

}  // namespace

app::app(app_options options)
    : options_(std::move(options)),
      shared_metrics_(io_.get_executor(), metrics_thread_.get_executor(),
                      [this](bool gzip) { return render_metrics(collector_, gzip); }),
      scheduler_(io_.get_executor(), store_,
                 scheduler::settings{options_.max_in_flight, options_.startup_window}),
      probe_endpoint_(io_.get_executor()),
      http_(io_.get_executor(), [this](const http_request& r) { return handle(r); },
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
  state_.check_families = [this] { return check_families(checks_); };
  for (const auto& check : checks_) scheduler_.host(check);
}

app::~app() {
  io_.stop();
  auth_checks_.stop();
  auth_checks_.join();
  metrics_thread_.stop();
  helpers_.stop();
  metrics_thread_.join();
  helpers_.join();
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
  state_.configured_targets = targets.size();
  if (options_.shard.sharded()) {
    std::erase_if(targets, [&](const auto& t) { return !options_.shard.owns(t.name); });
  }
  scheduler_.apply(targets, std::move(prepared.tls_contexts));
  // Egress IPs are every replica's own; target addresses only this shard's.
  for (const auto& check : checks_) check->apply(*prepared.config, targets);
  // Every replica answers /probe for every module: Prometheus picks the replica it scrapes.
  probe_endpoint_.apply(prepared.config->modules, std::move(prepared.module_tls_contexts));
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
  auto loaded = prepare_config(options_.config_file);
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
  if (web_) asio::co_spawn(io_, watch_web_config(), asio::detached);
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
  try {
    prepared = co_await asio::co_spawn(helpers_, prepare_config_async(options_.config_file),
                                       asio::use_awaitable);
  } catch (const std::exception& e) {
    prepared.errors.push_back(options_.config_file + ": " + e.what());
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

asio::awaitable<void> app::watch_web_config() {
  asio::steady_timer timer(io_);
  for (;;) {
    timer.expires_after(options_.web_config_check_interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    web_security::refresh_outcome outcome;
    try {
      outcome = co_await asio::co_spawn(helpers_, refresh_web(web_), asio::use_awaitable);
    } catch (const std::exception& e) {
      outcome = {true, false, e.what()};
    }
    if (outcome.applied) {
      log::info("web configuration reloaded", {{"file", options_.web_config_file}});
      if (const auto state = web_->current(); !state->cost_warning.empty()) {
        log::warn("web configuration", {{"warning", state->cost_warning}});
      }
    } else if (outcome.changed) {
      log::error("web configuration reload failed; keeping the running one",
                 {{"file", options_.web_config_file}, {"err", outcome.message}});
    }
  }
}

asio::awaitable<std::optional<http_response>> app::authorize(std::shared_ptr<const web_state> web,
                                                             const http_request& request) {
  auto unauthorized = [] {
    auto r = text_response(http::status::unauthorized, "Unauthorized\n");
    r.set(http::field::www_authenticate, "Basic realm=\"smtp_exporter\"");
    return r;
  };
  const std::string_view header = request[http::field::authorization];
  if (header.empty()) co_return unauthorized();
  if (web_->cached(*web, header)) co_return std::nullopt;
  if (auth_checks_pending_ >= max_auth_checks_pending) {
    // A flood of guesses: answer at once rather than queue bcrypts without bound.
    auto r = text_response(http::status::too_many_requests, "Too many authentication attempts\n");
    r.set(http::field::retry_after, "1");
    co_return r;
  }
  ++auth_checks_pending_;
  bool ok = false;
  try {
    ok = co_await asio::co_spawn(
        auth_checks_, check_basic_auth(web_, web, std::string(header)),
        asio::use_awaitable);
  } catch (...) {
    ok = false;
  }
  --auth_checks_pending_;
  if (!ok) co_return unauthorized();
  co_return std::nullopt;
}

asio::awaitable<http_response> app::handle(const http_request& request) {
  auto web = web_ ? web_->current() : nullptr;
  std::optional<http_response> response;
  if (web && web->config.requires_auth()) {
    std::string_view target = request.target();
    if (!auth_exempt(target.substr(0, target.find('?')))) {
      response = co_await authorize(web, request);
    }
  }
  if (!response) response = co_await route(request);
  if (web) {
    for (const auto& [name, value] : web->config.headers) response->set(name, value);
  }
  co_return std::move(*response);
}

asio::awaitable<http_response> app::route(const http_request& request) {
  const auto method = request.method();
  std::string_view target = request.target();
  auto query = target.find('?');
  std::string_view path = target.substr(0, query);
  const bool read_only = method == http::verb::get || method == http::verb::head;

  auto not_allowed = [](const char* allow) {
    auto r = text_response(http::status::method_not_allowed, "method not allowed\n");
    r.set(http::field::allow, allow);
    return r;
  };

  if (path == options_.telemetry_path) {
    if (!read_only) co_return not_allowed("GET, HEAD");
    // Rendering 10,000 targets takes ~110 ms (bench/README.md): do it off the event loop so
    // probes' timers keep their schedule.
    const bool gzip = accepts_gzip(request[http::field::accept_encoding]);
    // Concurrent scrapes share one render (shared_render.hpp), on the metrics thread.
    auto body = co_await shared_metrics_.get(gzip);
    http_response r{http::status::ok, 11};
    r.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    if (gzip) r.set(http::field::content_encoding, "gzip");
    r.set(http::field::vary, "Accept-Encoding");
    r.body().share(std::move(body));
    co_return r;
  }
  if (path == "/probe") co_return co_await probe_endpoint_.handle(request);
  if (path == "/-/reload") {
    if (method != http::verb::post) co_return not_allowed("POST");
    if (auto refusal = cross_site_refusal(request); !refusal.empty()) {
      co_return text_response(http::status::forbidden, refusal + "\n");
    }
    auto outcome = co_await reload("http");
    co_return text_response(outcome.ok ? http::status::ok : http::status::internal_server_error,
                            outcome.message + "\n");
  }
  if (path == "/-/healthy") {
    if (!read_only) co_return not_allowed("GET, HEAD");
    co_return text_response(http::status::ok, "Healthy.\n");
  }
  if (path == "/-/ready") {
    if (!read_only) co_return not_allowed("GET, HEAD");
    co_return ready_ ? text_response(http::status::ok, "Ready.\n")
                     : text_response(http::status::service_unavailable, "Not ready.\n");
  }
  if (path == "/") {
    if (!read_only) co_return not_allowed("GET, HEAD");
    // Off the event loop, like /metrics: the page reads every target's record.
    co_return html_response(co_await asio::co_spawn(
        helpers_, render_status(&store_, status_options(), &checks_), asio::use_awaitable));
  }
  if (path == "/probe/debug") {
    if (!read_only) co_return not_allowed("GET, HEAD");
    auto name = query_parameter(query == std::string_view::npos ? std::string_view{}
                                                                : target.substr(query + 1),
                                "target");
    if (!name) co_return text_response(http::status::bad_request, "want ?target=NAME\n");
    auto page = co_await asio::co_spawn(helpers_, render_debug(&store_, *name), asio::use_awaitable);
    if (!page) co_return text_response(http::status::not_found, "no such target\n");
    co_return html_response(std::move(*page));
  }
  co_return text_response(http::status::not_found, "404 page not found\n");
}

}  // namespace smtp_exporter::exporter
