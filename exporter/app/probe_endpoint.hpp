// GET /probe?target=HOST:PORT&module=NAME: one SMTP session run now, answered with that run's
// metrics, as blackbox_exporter's /probe does, so Prometheus service discovery and relabelling
// (or the prometheus-operator Probe resource) choose the targets.
//
// - The module ([module.NAME] in the config) is a target template; the request adds host and port.
// - Not an open relay: the port must be in the module's allowed_ports and the host must match
//   allowed_hosts, or its addresses lie in allowed_cidrs. For CIDRs the session itself connects
//   only to allowed addresses (checked on the addresses it resolved, not on an earlier lookup), so
//   DNS rebinding cannot reach others. Anything refused is a 400 with the reason in the body,
//   which never says what a name resolved to (logged at debug).
// - At most max_concurrent sessions per module; more is a 503.
// - The session's deadline is the shorter of the module's timeout and Prometheus'
//   X-Prometheus-Scrape-Timeout-Seconds minus a margin, so the answer beats the scrape timeout.
// - Runs on the exporter's event loop as a coroutine; /metrics scrapes never wait for it.
//
// Answers are made by exporter/web/responses.hpp, like every other route's.
//
// Thread-safety: apply() and handle() on the endpoint's executor.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "config/config.hpp"
#include "exporter/web/http_server.hpp"
#include "exporter/schedule/session_options.hpp"
#include "probes/dns/resolver.hpp"

namespace boost::asio::ssl {
class context;
}

namespace smtp_exporter::exporter {

// Subtracted from Prometheus' scrape timeout, for the answer to travel back in time.
inline constexpr std::chrono::milliseconds probe_timeout_margin{500};

// The session deadline: the module's timeout, shortened to the scrape timeout header's value
// minus the margin. A missing or unreadable header leaves the module's timeout. Public for tests.
std::chrono::milliseconds probe_deadline(std::chrono::milliseconds module_timeout,
                                         std::optional<std::string_view> scrape_timeout_header);

// `address` as the config writes addresses (an IPv4-mapped IPv6 address as its IPv4 address);
// nullopt when the config has no form for it (an IPv6 zone, "fe80::1%eth0").
std::optional<config::ip_address> to_config_address(const boost::asio::ip::address& address);
// Whether `allowed`'s CIDRs hold `address`; one without a config form is in none.
bool cidrs_allow(const config::allow_list& allowed, const boost::asio::ip::address& address);

// HOST:PORT, [V6]:PORT (split by common/host_port.hpp). The port is required. nullopt with
// `error` on anything else.
struct probe_target {
  std::string host;  // normalized (config::normalize_host), brackets removed
  std::uint16_t port = 0;
};
std::optional<probe_target> parse_probe_target(std::string_view text, std::string& error);

class probe_endpoint {
 public:
  // `dns`: the resolver's settings (tests point it at their own server); default: the system's.
  explicit probe_endpoint(boost::asio::any_io_executor executor,
                          const probes::dns_resolver_options& dns = {});
  ~probe_endpoint();

  // Makes `modules` the running set (on load and reload). `tls_contexts` maps module names to
  // their TLS context, `tokens` to their [auth.oauth2] token source. Sessions in flight finish
  // with the module they started with.
  void apply(const std::vector<config::probe_module>& modules,
             std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls_contexts,
             std::map<std::string, oauth_binding> tokens = {});

  // A GET (the route table answers other methods with a 405, routes.hpp).
  boost::asio::awaitable<http_response> handle(const http_request& request);

  // /probe sessions running right now, over every module.
  std::size_t in_flight() const { return *in_flight_; }

 private:
  struct module_state;
  boost::asio::awaitable<http_response> run(std::shared_ptr<module_state> module,
                                            probe_target target, std::chrono::milliseconds timeout,
                                            bool check_addresses);

  boost::asio::any_io_executor executor_;
  probes::dns_resolver resolver_;
  std::map<std::string, std::shared_ptr<module_state>, std::less<>> modules_;
  std::shared_ptr<std::size_t> in_flight_ = std::make_shared<std::size_t>(0);
};

}  // namespace smtp_exporter::exporter
