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

// The pages read the published records in place (shared_snapshot): no record is copied.
std::string render_status(const status_store* store, status_page_options options,
                          const check_runners* checks, const token_registry* tokens,
                          const std::string& provider_section) {
  options.now = unix_now();
  return render_status_page(store->shared_snapshot(), options,
                            check_sections(*checks) + tokens->status_section() + provider_section);
}

std::optional<std::string> render_debug(const status_store* store, const std::string& name,
                                        config::ip_family family) {
  auto status = store->find(name, family);
  if (!status) return std::nullopt;
  return render_debug_page(*status, unix_now());
}

// A page the helper thread did not render in time, or could not take: answered, never waited
// for without end (a helper stuck in a file read would hold the connection; off_loop.hpp).
template <typename T>
std::optional<http_response> page_refusal(const off_loop_result<T>& run) {
  if (run.status == off_loop_status::done) return std::nullopt;
  auto r = text_response(http::status::service_unavailable,
                         run.status == off_loop_status::busy
                             ? "the helper thread has too many pages waiting; try again later\n"
                             : "the helper thread did not render the page in time; try again "
                               "later\n");
  r.set(http::field::retry_after, "10");
  return r;
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
  std::string section;
  {
    std::lock_guard lock(provider_section_mutex_);
    section = provider_section_;
  }
  auto work = [store = &store_, options = status_options(), checks = &checks_,
               tokens = &token_registry_, section = std::move(section)] {
    return render_status(store, options, checks, tokens, section);
  };
  const auto deadline = page_deadline;
  auto run = co_await run_off_loop<std::string>(pages_gate_, helpers_.get_executor(),
                                                std::move(work), deadline);
  if (auto refusal = page_refusal(run)) co_return std::move(*refusal);
  co_return html_response(std::move(*run.value));
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
  auto work = [store = &store_, name = std::string(*name), family] {
    return render_debug(store, name, family);
  };
  const auto deadline = page_deadline;
  auto run = co_await run_off_loop<std::optional<std::string>>(
      pages_gate_, helpers_.get_executor(), std::move(work), deadline);
  if (auto refusal = page_refusal(run)) co_return std::move(*refusal);
  auto& page = *run.value;
  if (!page) co_return text_response(http::status::not_found, "no such target\n");
  co_return html_response(std::move(*page));
}

}  // namespace smtp_exporter::exporter
