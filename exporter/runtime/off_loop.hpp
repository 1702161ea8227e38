// Work handed from the event loop to a helper thread, waited for with a deadline.
//
// A read from a hung mount (NFS, FUSE) never returns, and O_NONBLOCK does nothing for a regular
// file. A request that waited for such a read without a deadline would wait for ever, and its
// connection would count as being answered for ever (issue 24, finding 4). Here the waiter gives
// up at the deadline and answers; the work runs on, and its result, when it comes, is dropped.
// A gate bounds how much work handed through it may be unfinished at once (given up on or not):
// beyond, a request is answered at once rather than queued behind a stuck thread, so neither
// memory nor connections pile up.
//
// Thread-safety: run_off_loop on the event loop; the gate's count is shared with the helpers.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smtp_exporter::exporter {

class off_loop_gate {
 public:
  explicit off_loop_gate(std::size_t max_unfinished)
      : max_(max_unfinished), unfinished_(std::make_shared<std::atomic<std::size_t>>(0)) {}
  // Work handed through the gate that has not ended yet (some of it perhaps given up on).
  std::size_t unfinished() const { return unfinished_->load(); }
  // Counts one more piece of work in and returns the count to decrement when it ends; nullptr
  // when the gate is full. On the event loop only (the helpers only decrement).
  std::shared_ptr<std::atomic<std::size_t>> enter() {
    if (unfinished_->load() >= max_) return nullptr;
    ++*unfinished_;
    return unfinished_;
  }

 private:
  std::size_t max_;
  std::shared_ptr<std::atomic<std::size_t>> unfinished_;
};

enum class off_loop_status {
  done,       // the work ended in time: `value` holds its result
  timed_out,  // the deadline passed first; the work runs on, its result will be dropped
  busy,       // the gate was full: nothing was started
};

template <typename T>
struct off_loop_result {
  off_loop_status status = off_loop_status::busy;
  std::optional<T> value;
};

// Runs `work()` (returning T) on `helper`; rethrows what it threw when it ends in time.
template <typename T, typename F>
boost::asio::awaitable<off_loop_result<T>> run_off_loop(off_loop_gate& gate,
                                                        boost::asio::any_io_executor helper,
                                                        F work, std::chrono::milliseconds deadline) {
  namespace asio = boost::asio;
  off_loop_result<T> out;
  auto unfinished = gate.enter();
  if (!unfinished) co_return out;
  struct shared_state {
    explicit shared_state(asio::any_io_executor loop) : timer(std::move(loop)) {}
    asio::steady_timer timer;
    std::optional<T> value;
    std::exception_ptr error;
    bool ended = false;
  };
  auto loop = co_await asio::this_coro::executor;
  auto state = std::make_shared<shared_state>(loop);
  state->timer.expires_after(deadline);
  asio::post(helper, [state, loop, work = std::move(work), unfinished]() mutable {
    std::optional<T> value;
    std::exception_ptr error;
    try {
      value.emplace(work());
    } catch (...) {
      error = std::current_exception();
    }
    --*unfinished;
    asio::post(loop, [state, value = std::move(value), error]() mutable {
      state->value = std::move(value);
      state->error = error;
      state->ended = true;
      state->timer.cancel();
    });
  });
  co_await state->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!state->ended) {
    out.status = off_loop_status::timed_out;
    co_return out;
  }
  if (state->error) std::rethrow_exception(state->error);
  out.status = off_loop_status::done;
  out.value = std::move(state->value);
  co_return out;
}

}  // namespace smtp_exporter::exporter
