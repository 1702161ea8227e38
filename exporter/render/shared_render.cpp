#include "exporter/render/shared_render.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

namespace {
// A free coroutine taking its parameters by value: GCC 12 mis-destroys lambda captures of
// coroutines passed to co_spawn.
asio::awaitable<std::string> run_render(shared_render::render_fn render, bool gzip) {
  co_return render(gzip);
}
}  // namespace

shared_render::flight::flight(const asio::any_io_executor& loop)
    : done(loop, asio::steady_timer::time_point::max()) {}

shared_render::shared_render(asio::any_io_executor loop, asio::any_io_executor worker,
                             render_fn render)
    : loop_(std::move(loop)), worker_(std::move(worker)), render_(std::move(render)) {}

asio::awaitable<std::shared_ptr<const std::string>> shared_render::get(bool gzip) {
  auto& slot = in_flight_[gzip ? 1 : 0];
  if (auto joined = slot) {
    co_await joined->done.async_wait(asio::as_tuple(asio::use_awaitable));
    if (joined->error) std::rethrow_exception(joined->error);
    co_return joined->result;
  }
  auto mine = std::make_shared<flight>(loop_);
  slot = mine;
  ++renders_;
  try {
    mine->result = std::make_shared<const std::string>(
        co_await asio::co_spawn(worker_, run_render(render_, gzip), asio::use_awaitable));
  } catch (...) {
    mine->error = std::current_exception();
  }
  // Back on the loop: later requests start a new render; the waiters wake with this one's.
  slot.reset();
  mine->done.cancel();
  if (mine->error) std::rethrow_exception(mine->error);
  co_return mine->result;
}

}  // namespace smtp_exporter::exporter
