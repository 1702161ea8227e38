// Concurrent scrapes share one render. A request that arrives while a render of the same variant
// (plain or gzip) is running waits for it and gets the same bytes, so two Prometheus replicas, or
// a flood of requests, cost one render rather than N. Nothing is kept once a render is handed
// out: a request that arrives after it finished starts a fresh one, so a scrape is never older
// than the moment the render it joined started.
//
// Thread-safety: get() must be called from the executor given as `loop` (the HTTP handlers' event
// loop); the render function runs on `worker`.
#pragma once

#include <array>
#include <exception>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace smtp_exporter::exporter {

class shared_render {
 public:
  // Renders the whole response body; gzip-compressed when asked. Runs on the worker.
  using render_fn = std::function<std::string(bool gzip)>;

  shared_render(boost::asio::any_io_executor loop, boost::asio::any_io_executor worker,
                render_fn render);

  // The body from the render of this variant in flight, or from a new one started now; every
  // request that joined it gets the same immutable text (one copy in memory, however many
  // responses are being written from it). Rethrows what the render threw (to every request that
  // shared it).
  boost::asio::awaitable<std::shared_ptr<const std::string>> get(bool gzip);

  // Renders started so far (for tests and benches).
  std::size_t renders() const { return renders_; }

 private:
  struct flight {
    explicit flight(const boost::asio::any_io_executor& loop);
    boost::asio::steady_timer done;  // never expires; cancelled when the result is in
    std::shared_ptr<const std::string> result;
    std::exception_ptr error;
  };

  boost::asio::any_io_executor loop_;
  boost::asio::any_io_executor worker_;
  render_fn render_;
  std::array<std::shared_ptr<flight>, 2> in_flight_;  // [gzip]
  std::size_t renders_ = 0;
};

}  // namespace smtp_exporter::exporter
