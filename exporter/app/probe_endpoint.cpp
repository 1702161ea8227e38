#include "exporter/app/probe_endpoint.hpp"

#include "exporter/app/probe_limits.hpp"

#include <algorithm>
#include <charconv>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/http.hpp>

#include "exporter/runtime/clock.hpp"
#include "exporter/runtime/log.hpp"
#include "exporter/render/metrics.hpp"
#include "exporter/schedule/session_options.hpp"
#include "exporter/web/responses.hpp"
#include "common/host_port.hpp"
#include "common/text_escape.hpp"
#include "exporter/schedule/target_status.hpp"
#include "probes/core/verdicts.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using clock = std::chrono::steady_clock;

struct probe_endpoint::module_state {
  config::probe_module module;
  std::shared_ptr<asio::ssl::context> tls_context;
  oauth_binding token;  // [module.NAME.auth.oauth2]
  // Shared by a module's successive versions across reloads, so the cap holds through a reload.
  std::shared_ptr<std::size_t> in_flight;
  // Credentialed modules: the session rate and the last answer per HOST:PORT (probe_limits.hpp),
  // kept across a reload that leaves the module's limits as they were.
  std::shared_ptr<probe_rate_limiter> rate;
  std::shared_ptr<probe_answer_cache> answers;
};

namespace {

http_response refuse(std::string reason) {
  log::debug("/probe refused", {{"reason", reason}});
  return text_response(http::status::bad_request, std::move(reason) + "\n");
}

// A request's own text in a message, bounded and printable, since it comes from the client.
std::string client_text(std::string_view text) {
  constexpr std::size_t max = 200;
  return '"' + smtp_exporter::printable_excerpt(text, max) + (text.size() > max ? "...\"" : "\"");
}

// Decrements the module's and the endpoint's counters however the session ends, even when the
// coroutine's frame is destroyed with the io_context after the endpoint (shutdown): shared.
struct slot {
  std::shared_ptr<std::size_t> module_count;
  std::shared_ptr<std::size_t> total;
  slot(std::shared_ptr<std::size_t> m, std::shared_ptr<std::size_t> t)
      : module_count(std::move(m)), total(std::move(t)) {
    ++*module_count;
    ++*total;
  }
  ~slot() {
    --*module_count;
    --*total;
  }
  slot(const slot&) = delete;
  slot& operator=(const slot&) = delete;
};

}  // namespace

std::optional<config::ip_address> to_config_address(const asio::ip::address& address) {
  // Through the text form, so that a v4-mapped IPv6 address becomes its IPv4 address as in config.
  // A form the config has no word for (a zone: "fe80::1%eth0") is an error, never 0.0.0.0, which
  // a block like 0.0.0.0/0 would let through to an IPv6 link-local address.
  return config::parse_ip_address(address.to_string());
}

bool cidrs_allow(const config::allow_list& allowed, const asio::ip::address& address) {
  const auto a = to_config_address(address);
  return a && allowed.allows_address(*a);
}

std::chrono::milliseconds probe_deadline(std::chrono::milliseconds module_timeout,
                                         std::optional<std::string_view> scrape_timeout_header) {
  if (!scrape_timeout_header) return module_timeout;
  double seconds = 0;
  const std::string_view text = *scrape_timeout_header;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
  if (ec != std::errc{} || end != text.data() + text.size() || !(seconds > 0) || seconds > 1e6)
    return module_timeout;
  const auto scrape =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(seconds));
  // The margin never takes more than half of a short scrape timeout.
  const auto budget = std::max(scrape - probe_timeout_margin, scrape / 2);
  return std::max(std::chrono::milliseconds(1), std::min(module_timeout, budget));
}

std::optional<probe_target> parse_probe_target(std::string_view text, std::string& error) {
  host_port_problem problem;
  const auto parts = split_host_port(text, problem);
  if (!parts || (parts->bracketed && !parts->port)) {
    error = "target " + client_text(text) + " must be HOST:PORT or [IPV6]:PORT";
    return std::nullopt;
  }
  if (parts->bracketed && parts->host.find(':') == std::string_view::npos) {
    error = "target " + client_text(text) + ": brackets are for IPv6 addresses only";
    return std::nullopt;
  }
  if (!parts->port) {
    error = "target " + client_text(text) +
            " must be HOST:PORT (an IPv6 address in brackets: [::1]:25); the port is required";
    return std::nullopt;
  }
  const auto port = parse_port(*parts->port);
  if (!port) {
    error = "target " + client_text(text) + ": the port must be a number from 1 to 65535";
    return std::nullopt;
  }
  std::string host_problem;
  auto normalized = config::normalize_host(parts->host, host_problem);
  if (!normalized) {
    error = "target " + client_text(text) + ": " + host_problem;
    return std::nullopt;
  }
  return probe_target{std::move(*normalized), *port};
}

probe_endpoint::probe_endpoint(asio::any_io_executor executor,
                               const probes::dns_resolver_options& dns)
    : executor_(executor), resolver_(executor, dns) {}

probe_endpoint::~probe_endpoint() = default;

void probe_endpoint::apply(
    const std::vector<config::probe_module>& modules,
    std::map<std::string, std::shared_ptr<asio::ssl::context>> tls_contexts,
    std::map<std::string, oauth_binding> tokens) {
  std::map<std::string, std::shared_ptr<module_state>, std::less<>> next;
  for (const auto& m : modules) {
    auto state = std::make_shared<module_state>();
    state->module = m;
    if (auto it = tls_contexts.find(m.name); it != tls_contexts.end())
      state->tls_context = it->second;
    if (auto it = tokens.find(m.name); it != tokens.end()) state->token = it->second;
    auto old = modules_.find(m.name);
    state->in_flight =
        old != modules_.end() ? old->second->in_flight : std::make_shared<std::size_t>(0);
    const bool same_limits = old != modules_.end() &&
                             old->second->module.max_sessions_per_minute ==
                                 m.max_sessions_per_minute &&
                             old->second->module.settings == m.settings;
    state->rate = same_limits ? old->second->rate
                              : std::make_shared<probe_rate_limiter>(m.max_sessions_per_minute);
    state->answers = same_limits ? old->second->answers : std::make_shared<probe_answer_cache>();
    next.emplace(m.name, std::move(state));
  }
  modules_ = std::move(next);
}

asio::awaitable<http_response> probe_endpoint::handle(const http_request& request) {
  const std::string_view uri = request.target();
  const auto question = uri.find('?');
  const std::string_view query =
      question == std::string_view::npos ? std::string_view{} : uri.substr(question + 1);

  const auto module_name = query_parameter(query, "module");
  if (!module_name || module_name->empty())
    co_return refuse("module parameter is missing: want /probe?target=HOST:PORT&module=NAME");
  const auto found = modules_.find(*module_name);
  if (found == modules_.end()) co_return refuse("unknown module " + client_text(*module_name));
  const std::shared_ptr<module_state> module = found->second;
  const config::probe_module& m = module->module;

  const auto target_text = query_parameter(query, "target");
  if (!target_text || target_text->empty())
    co_return refuse("target parameter is missing: want /probe?target=HOST:PORT&module=NAME");
  std::string error;
  auto target = parse_probe_target(*target_text, error);
  if (!target) co_return refuse(std::move(error));

  const std::string what = config::host_port(target->host, target->port);
  if (!m.allowed.allows_port(target->port)) {
    co_return refuse("target " + what + " refused: port " + std::to_string(target->port) +
                     " is not in module " + m.name + "'s allowed_ports (" +
                     config::describe_ports(m.allowed.ports) + ")");
  }
  // By name: any address the name resolves to. By address: only addresses in allowed_cidrs.
  bool check_addresses = false;
  const auto literal = config::parse_ip_address(target->host);
  if (!m.allowed.allows_host_name(target->host)) {
    if (literal && !m.allowed.allows_address(*literal)) {
      co_return refuse("target " + what + " refused: address " + target->host +
                       " is in neither module " + m.name +
                       "'s allowed_hosts nor its allowed_cidrs");
    }
    if (!literal && m.allowed.cidrs.empty()) {
      co_return refuse("target " + what + " refused: host " + target->host +
                       " matches none of module " + m.name + "'s allowed_hosts");
    }
    check_addresses = true;
  }

  // A credentialed module answers a HOST:PORT probed within min_interval from its last run, and
  // starts at most max_sessions_per_minute sessions (attack review, finding 2).
  const auto now = clock::now();
  if (const auto* last = module->answers->fresh(what, now, m.min_interval)) {
    auto r = make_response(http::status::ok, exposition_content_type);
    r.body().share(last->body);
    r.set("X-Smtp-Exporter-Answer-Age-Seconds",
          std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - last->at).count()));
    co_return r;
  }
  if (!module->rate->try_take(now)) {
    log::debug("/probe over the module's max_sessions_per_minute", {{"module", m.name}});
    auto r = text_response(http::status::too_many_requests,
                           "module " + m.name + " already started " +
                               std::to_string(m.max_sessions_per_minute) +
                               " /probe sessions this minute (max_sessions_per_minute); try "
                               "again later\n");
    r.set(http::field::retry_after, std::to_string(module->rate->retry_after_seconds(now)));
    co_return r;
  }
  if (*module->in_flight >= m.max_concurrent) {
    log::debug("/probe over the module's max_concurrent",
               {{"module", m.name}, {"max_concurrent", std::to_string(m.max_concurrent)}});
    auto r = text_response(http::status::service_unavailable,
                           "module " + m.name + " already runs " +
                               std::to_string(*module->in_flight) +
                               " /probe sessions (max_concurrent = " +
                               std::to_string(m.max_concurrent) + "); try again later\n");
    r.set(http::field::retry_after, "1");
    co_return r;
  }
  const auto header = request.find("X-Prometheus-Scrape-Timeout-Seconds");
  const auto timeout = probe_deadline(
      m.settings.timeout,
      header == request.end() ? std::nullopt : std::optional<std::string_view>(header->value()));
  co_return co_await run(module, std::move(*target), timeout, check_addresses && !literal);
}

asio::awaitable<http_response> probe_endpoint::run(std::shared_ptr<module_state> module,
                                                   probe_target target,
                                                   std::chrono::milliseconds timeout,
                                                   bool check_addresses) {
  const slot taken(module->in_flight, in_flight_);
  const config::probe_module& m = module->module;
  const auto deadline = clock::now() + timeout;
  const std::string what = config::host_port(target.host, target.port);

  if (check_addresses) {
    // Only to tell the client why, with a 400; what protects is the session's own check of the
    // addresses it connects to (address_allowed below). A lookup that fails goes on to the
    // session, which reports it as resolve_failed like a scheduled target's.
    // The answer never says what the name resolved to: anyone who may ask /probe would have a
    // resolver inside the network (issue 24, finding 12). The log has it, at debug.
    auto resolved = co_await resolver_.resolve(target.host, target.port, deadline);
    if (resolved.ok()) {
      bool any = false;
      for (const auto& e : resolved.endpoints) any = any || cidrs_allow(m.allowed, e.address());
      if (!any) {
        if (log::debug_enabled()) {
          std::string addresses;
          for (const auto& e : resolved.endpoints) {
            if (!addresses.empty()) addresses += ", ";
            addresses += e.address().to_string();
          }
          log::debug("/probe target resolves outside allowed_cidrs",
                     {{"module", m.name}, {"target", what}, {"addresses", addresses}});
        }
        co_return refuse("target " + what + " refused: host " + target.host +
                         " matches none of module " + m.name +
                         "'s allowed_hosts, and none of its addresses is in its allowed_cidrs");
      }
    }
  }

  config::target t = config::module_target(m, target.host, target.port);
  t.timeout =
      std::max(std::chrono::milliseconds(1),
               std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now()));

  // ip_protocol = "both": one session per address family, at once, each under its ip_family.
  std::vector<config::target> families = family_targets(t);
  std::vector<probes::session_options> options;
  for (const auto& family : families) {
    auto& o = options.emplace_back(session_options_for(family));
    o.tls_context = module->tls_context;
    bind_token(o, module->token);
    for (std::size_t p = 0; p < probes::probe_kind_count; ++p) o.due[p] = family.probes[p];
    if (check_addresses) {
      o.address_allowed = [module](const asio::ip::address& address) {
        return cidrs_allow(module->module.allowed, address);
      };
    }
  }
  std::vector<probes::session_result> results;
  if (options.size() == 2) {
    using namespace asio::experimental::awaitable_operators;
    auto [v4, v6] = co_await (probes::run_session(options[0], resolver_) &&
                              probes::run_session(options[1], resolver_));
    results.push_back(std::move(v4));
    results.push_back(std::move(v6));
  } else {
    results.push_back(co_await probes::run_session(options[0], resolver_));
  }

  std::vector<target_status> runs(families.size());
  std::vector<const target_status*> rendered;
  for (std::size_t i = 0; i < families.size(); ++i) {
    runs[i].config = std::make_shared<const config::target>(std::move(families[i]));
    runs[i].record(results[i], unix_now());
    rendered.push_back(&runs[i]);
    if (log::debug_enabled()) {
      log::debug("/probe run", {{"module", m.name},
                                {"target", what},
                                {"ip_family", std::string(config::to_string(runs[i].config->family))},
                                {"duration_seconds", std::to_string(results[i].total_seconds)},
                                {"detail", results[i].detail}});
    }
  }
  auto r = make_response(http::status::ok, exposition_content_type);
  if (m.min_interval.count() > 0) {
    auto text = std::make_shared<const std::string>(render_probe_run(rendered));
    module->answers->store(what, text, clock::now());
    r.body().share(std::move(text));
  } else {
    r.body() = render_probe_run(rendered);
  }
  co_return r;
}

}  // namespace smtp_exporter::exporter
