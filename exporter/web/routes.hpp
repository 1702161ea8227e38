// The HTTP endpoints as one table, as Envoy's admin server mounts its endpoints: each route names
// its path, the methods it takes, whether it answers without authentication, and its handler.
// Everything about a route is derived from its row: the 404 for a path in no row, the 405 and its
// Allow header from the methods, and the paths basic auth leaves open (basic_auth.hpp).
//
// A path matches exactly, the query excluded; the first row with the path wins (a telemetry path
// set to another route's path shadows that route, as it always has).
//
// Thread-safety: immutable once built; dispatch() on the executor the handlers expect.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/verb.hpp>

#include "exporter/web/http_server.hpp"

namespace smtp_exporter::exporter {

struct route {
  std::string path;
  // The methods the handler takes; any other gets a 405 whose Allow lists these, in this order.
  std::vector<boost::beast::http::verb> methods;
  // Answers without credentials even when the web config requires them: only paths that say
  // nothing but "alive" or "ready", for kubelet probes that cannot send credentials.
  bool skips_auth = false;
  http_handler handler;
};

// The request's path: its target up to the query.
std::string_view request_path(const http_request& request);

// `response` as an awaitable, for a handler whose answer needs no waiting.
boost::asio::awaitable<http_response> answer_now(http_response response);

class route_table {
 public:
  route_table() = default;
  explicit route_table(std::vector<route> routes) : routes_(std::move(routes)) {}

  // The route for `path`; nullptr when none has it.
  const route* find(std::string_view path) const;
  bool skips_auth(std::string_view path) const;
  // The route's handler; 404 for a path in no route, 405 for a method the route does not take.
  boost::asio::awaitable<http_response> dispatch(const http_request& request) const;

  const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
};

}  // namespace smtp_exporter::exporter
