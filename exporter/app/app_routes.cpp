// The exporter's HTTP endpoints: the one table (routes.hpp) and the handlers behind it. A new
// endpoint is a row here and, when it needs the app's state, a handler declared in app.hpp.
#include <optional>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/text_escape.hpp"
#include "exporter/app/app.hpp"
#include "exporter/runtime/clock.hpp"
#include "exporter/views/status_page.hpp"
#include "exporter/web/cross_site.hpp"
#include "exporter/web/gzip.hpp"
#include "exporter/web/responses.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// Work for the helper thread. Free coroutines taking parameters by value: GCC 12 mis-destroys
// lambda captures of coroutines passed to co_spawn.
// The pages read the published records in place (shared_snapshot): no record is copied.
asio::awaitable<std::string> render_status(const status_store* store,
                                           status_page_options options,
                                           const check_runners* checks,
                                           const token_registry* tokens,
                                           std::string provider_section) {
  options.now = unix_now();
  co_return render_status_page(store->shared_snapshot(), options,
                               check_sections(*checks) + tokens->status_section() +
                                   provider_section);
}

asio::awaitable<std::optional<std::string>> render_debug(const status_store* store,
                                                         std::string name,
                                                         config::ip_family family) {
  auto status = store->find(name, family);
  if (!status) co_return std::nullopt;
  co_return render_debug_page(*status, unix_now());
}

}  // namespace

route_table app::make_routes() {
  using http::verb;
  const std::vector<verb> read_only{verb::get, verb::head};
  return route_table({
      {options_.telemetry_path, read_only, false,
       [this](const http_request& r) { return serve_metrics(r); }},
      {"/probe", {verb::get}, false,
       [this](const http_request& r) { return probe_endpoint_.handle(r); }},
      {"/-/reload", {verb::post}, false,
       [this](const http_request& r) { return serve_reload(r); }},
      // Kubelet probes cannot send credentials, and these say nothing but "alive" and "ready"
      // (docs/security.md).
      {"/-/healthy", read_only, true,
       [](const http_request&) {
         return answer_now(text_response(http::status::ok, "Healthy.\n"));
       }},
      {"/-/ready", read_only, true,
       [this](const http_request&) {
         return answer_now(ready_ ? text_response(http::status::ok, "Ready.\n")
                                  : text_response(http::status::service_unavailable,
                                                  "Not ready.\n"));
       }},
      {"/", read_only, false, [this](const http_request& r) { return serve_status_page(r); }},
      {"/probe/debug", read_only, false,
       [this](const http_request& r) { return serve_debug_page(r); }},
  });
}

asio::awaitable<http_response> app::serve_metrics(const http_request& request) {
  // Rendering 10,000 targets takes ~110 ms (bench/README.md): do it off the event loop so
  // probes' timers keep their schedule.
  const bool gzip = accepts_gzip(request[http::field::accept_encoding]);
  // Concurrent scrapes share one render (shared_render.hpp), on the metrics thread.
  auto body = co_await shared_metrics_.get(gzip);
  auto r = make_response(http::status::ok, exposition_content_type);
  if (gzip) r.set(http::field::content_encoding, "gzip");
  r.set(http::field::vary, "Accept-Encoding");
  r.body().share(std::move(body));
  co_return r;
}

asio::awaitable<http_response> app::serve_reload(const http_request& request) {
  if (auto refusal = cross_site_refusal(request, options_.web_host_names); !refusal.empty()) {
    co_return text_response(http::status::forbidden, refusal + "\n");
  }
  auto outcome = co_await reload("http");
  co_return text_response(outcome.ok ? http::status::ok : http::status::internal_server_error,
                          outcome.message + "\n");
}

asio::awaitable<http_response> app::serve_status_page(const http_request&) {
  // Off the event loop, like /metrics: the page reads every target's record.
  co_return html_response(co_await asio::co_spawn(
      helpers_, render_status(&store_, status_options(), &checks_, &token_registry_,
                              [this] {
                                std::lock_guard lock(provider_section_mutex_);
                                return provider_section_;
                              }()), asio::use_awaitable));
}

asio::awaitable<http_response> app::serve_debug_page(const http_request& request) {
  const std::string_view target = request.target();
  const auto query = target.find('?');
  const std::string_view parameters =
      query == std::string_view::npos ? std::string_view{} : target.substr(query + 1);
  auto name = query_parameter(parameters, "target");
  if (!name) co_return text_response(http::status::bad_request, "want ?target=NAME\n");
  // One family of a target with ip_protocol = "both" (the status page links each).
  auto family = config::ip_family::none;
  if (auto f = query_parameter(parameters, "ip_family")) {
    if (*f == "ipv4") family = config::ip_family::ipv4;
    else if (*f == "ipv6") family = config::ip_family::ipv6;
    else co_return text_response(http::status::bad_request, "ip_family: want ipv4 or ipv6\n");
  }
  auto page = co_await asio::co_spawn(helpers_, render_debug(&store_, *name, family),
                                      asio::use_awaitable);
  if (!page) co_return text_response(http::status::not_found, "no such target\n");
  co_return html_response(std::move(*page));
}

}  // namespace smtp_exporter::exporter
