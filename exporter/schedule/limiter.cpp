#include "exporter/schedule/limiter.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

slot_limiter::ticket::ticket(const asio::any_io_executor& executor)
    : timer_(executor, asio::steady_timer::time_point::max()) {}

void slot_limiter::ticket::cancel() {
  cancelled_ = true;
  timer_.cancel();
}

slot_limiter::slot_limiter(std::size_t max_in_flight)
    : max_(max_in_flight == 0 ? 1 : max_in_flight) {}

bool slot_limiter::try_acquire() {
  if (used_ >= max_ || !waiters_.empty()) return false;
  ++used_;
  in_flight_.store(used_, std::memory_order_relaxed);
  return true;
}

asio::awaitable<bool> slot_limiter::acquire(std::shared_ptr<ticket> t) {
  if (t->cancelled_) co_return false;
  if (try_acquire()) {
    t->granted_ = true;
    co_return true;
  }
  waiters_.push_back(t);
  // A cancel or a hand-over cancels the timer; nothing else ends the wait.
  while (!t->granted_ && !t->cancelled_) {
    co_await t->timer_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  co_return t->granted_;
}

asio::awaitable<bool> slot_limiter::acquire() {
  if (try_acquire()) co_return true;
  // Plain statements: GCC 12 miscompiles some co_await inside larger expressions.
  const auto executor = co_await asio::this_coro::executor;
  const bool held = co_await acquire(std::make_shared<ticket>(executor));
  co_return held;
}

bool slot_limiter::hand_over() {
  while (!waiters_.empty()) {
    auto next = std::move(waiters_.front());
    waiters_.pop_front();
    if (next->cancelled_) continue;  // it is leaving; the slot goes to the next waiter
    next->granted_ = true;
    next->timer_.cancel();
    return true;
  }
  return false;
}

void slot_limiter::release() {
  if (used_ <= max_ && hand_over()) return;
  --used_;
  in_flight_.store(used_, std::memory_order_relaxed);
}

void slot_limiter::cancel_all() {
  for (auto& w : waiters_) w->cancel();
  waiters_.clear();
}

void slot_limiter::set_max(std::size_t max_in_flight) {
  max_ = max_in_flight == 0 ? 1 : max_in_flight;
  while (used_ < max_ && hand_over()) {
    ++used_;
    in_flight_.store(used_, std::memory_order_relaxed);
  }
}

}  // namespace smtp_exporter::exporter
