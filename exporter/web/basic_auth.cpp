#include "exporter/web/basic_auth.hpp"

#include <string>
#include <string_view>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/secret.hpp"
#include "exporter/web/responses.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace http = boost::beast::http;

namespace {

// One bcrypt check on the auth thread. `authorization` is the header's value: a secret, wiped.
// A free coroutine taking its parameters by value: GCC 12 mis-destroys lambda captures of
// coroutines passed to co_spawn.
asio::awaitable<bool> check_basic_auth(std::shared_ptr<web_security> security,
                                       std::shared_ptr<const web_state> state,
                                       std::string authorization) {
  const bool ok = security->check(*state, authorization);
  smtp_exporter::cleanse(authorization);
  co_return ok;
}

http_response unauthorized() {
  auto r = text_response(http::status::unauthorized, "Unauthorized\n");
  r.set(http::field::www_authenticate, "Basic realm=\"smtp_exporter\"");
  return r;
}

http_response too_many(long retry_after_seconds) {
  auto r = text_response(http::status::too_many_requests, "Too many authentication attempts\n");
  r.set(http::field::retry_after, std::to_string(retry_after_seconds));
  return r;
}

}  // namespace

void basic_auth::stop() {
  checks_.stop();
  checks_.join();
}

asio::awaitable<std::optional<http_response>> basic_auth::authorize(
    std::shared_ptr<const web_state> web, const http_request& request) {
  const std::string_view header = request[http::field::authorization];
  if (header.empty()) co_return unauthorized();
  if (security_->cached(*web, header)) co_return std::nullopt;
  const std::string source = auth_throttle::source_of(request.peer);
  const auto admission = throttle_.admit(source, std::chrono::steady_clock::now());
  if (!admission.admitted || pending_ >= max_pending) {
    if (admission.admitted) throttle_.finished(admission, false, std::chrono::steady_clock::now());
    // Answered at once, before any bcrypt: a source out of tokens, one with a check already
    // waiting, or a queue full of other sources' checks.
    co_return too_many(admission.admitted ? 1 : admission.retry_after_seconds);
  }
  ++pending_;
  bool ok = false;
  try {
    ok = co_await asio::co_spawn(checks_, check_basic_auth(security_, web, std::string(header)),
                                 asio::use_awaitable);
  } catch (...) {
    ok = false;
  }
  --pending_;
  throttle_.finished(admission, !ok, std::chrono::steady_clock::now());
  if (!ok) co_return unauthorized();
  co_return std::nullopt;
}

asio::awaitable<http_response> basic_auth::handle(const http_request& request) {
  auto web = security_ ? security_->current() : nullptr;
  std::optional<http_response> response;
  if (web && web->config.requires_auth() && !routes_.skips_auth(request_path(request))) {
    response = co_await authorize(web, request);
  }
  if (!response) response = co_await routes_.dispatch(request);
  if (web) {
    for (const auto& [name, value] : web->config.headers) response->set(name, value);
  }
  co_return std::move(*response);
}

}  // namespace smtp_exporter::exporter
