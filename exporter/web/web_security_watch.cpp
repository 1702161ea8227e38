#include "exporter/web/web_security_watch.hpp"

#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "exporter/runtime/log.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

namespace {

// A free coroutine taking its parameter by value: GCC 12 mis-destroys lambda captures of
// coroutines passed to co_spawn.
asio::awaitable<web_security::refresh_outcome> refresh_web(std::shared_ptr<web_security> security) {
  co_return security->refresh();
}

}  // namespace

asio::awaitable<void> watch_web_security(std::shared_ptr<web_security> security,
                                         asio::any_io_executor files,
                                         std::chrono::seconds interval, std::string file) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(interval);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    web_security::refresh_outcome outcome;
    try {
      outcome = co_await asio::co_spawn(files, refresh_web(security), asio::use_awaitable);
    } catch (const std::exception& e) {
      outcome = {true, false, e.what()};
    }
    if (outcome.applied) {
      log::info("web configuration reloaded", {{"file", file}});
      if (const auto state = security->current(); !state->cost_warning.empty()) {
        log::warn("web configuration", {{"warning", state->cost_warning}});
      }
    } else if (outcome.changed) {
      log::error("web configuration reload failed; keeping the running one",
                 {{"file", file}, {"err", outcome.message}});
    }
  }
}

}  // namespace smtp_exporter::exporter
