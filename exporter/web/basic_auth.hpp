// Basic auth as a wrapper around the route table, as exporter-toolkit's web/handler.go wraps any
// handler: a request for a route that does not skip auth (routes.hpp) needs credentials first (a
// 401 without them or with wrong ones), then the route answers; the web config's headers go on
// every answer, a 401 included. Without a web config, or one without users, the routes answer.
//
// The bcrypt checks (tens of ms each, web_security.hpp) run on the wrapper's own thread, never on
// the event loop. A flood of wrong passwords must not keep a scraper out (issue 24, finding 1),
// so, in this order:
// - a header verified before passes at once (web_security's credential cache, sliding);
// - per source address (auth_throttle.hpp): a source whose wrong passwords used up its tokens
//   gets 429 with Retry-After before any bcrypt, and one source has at most one check waiting or
//   running, so the queue is shared fairly between sources;
// - at most max_pending checks wait in all: beyond, 429 at once rather than a queue without bound.
//
// Thread-safety: secure_with() and handle() on the event loop (one thread), stop() after it
// stopped; the bcrypt thread only calls web_security, which is thread-safe.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "exporter/web/auth_throttle.hpp"
#include "exporter/web/http_server.hpp"
#include "exporter/web/routes.hpp"
#include "exporter/web/web_security.hpp"

namespace smtp_exporter::exporter {

class basic_auth {
 public:
  explicit basic_auth(route_table routes) : routes_(std::move(routes)) {}
  ~basic_auth() { stop(); }
  basic_auth(const basic_auth&) = delete;
  basic_auth& operator=(const basic_auth&) = delete;

  // From now on `security` (the loaded web config) guards the routes; before the server starts.
  void secure_with(std::shared_ptr<web_security> security) { security_ = std::move(security); }
  // Credentials unless the route skips them, the route, then the configured headers.
  boost::asio::awaitable<http_response> handle(const http_request& request);
  // Stops and joins the bcrypt thread; at shutdown, once the event loop has stopped.
  void stop();

  // Sources with a check waiting or running, at most (one each).
  static constexpr std::size_t max_pending = 32;
  // For tests and the bench: the per-source limits.
  void set_throttle(auth_throttle::settings s) { throttle_ = auth_throttle(s); }

 private:
  // nullopt when the request may proceed; else the answer (401, or 429 when too many checks wait).
  boost::asio::awaitable<std::optional<http_response>> authorize(
      std::shared_ptr<const web_state> web, const http_request& request);

  route_table routes_;
  std::shared_ptr<web_security> security_;
  boost::asio::thread_pool checks_{1};
  std::size_t pending_ = 0;
  auth_throttle throttle_;
};

}  // namespace smtp_exporter::exporter
