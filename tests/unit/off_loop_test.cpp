// Work handed to a helper thread and waited for with a deadline (exporter/runtime/off_loop.hpp):
// a helper stuck in a read from a hung mount must not hold the waiter, and the gate refuses work
// beyond its bound at once.
#include "exporter/runtime/off_loop.hpp"

#include <future>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Runs one run_off_loop on `io` to its end; the result.
off_loop_result<std::string> run_once(asio::io_context& io, off_loop_gate& gate,
                                      asio::thread_pool& helper, std::function<std::string()> work,
                                      std::chrono::milliseconds deadline) {
  std::optional<off_loop_result<std::string>> out;
  asio::co_spawn(io, run_off_loop<std::string>(gate, helper.get_executor(), std::move(work), deadline),
                 [&](std::exception_ptr, off_loop_result<std::string> r) { out = std::move(r); });
  io.restart();
  while (!out && io.run_one_for(5s) > 0) {
  }
  return out.value_or(off_loop_result<std::string>{});
}

TEST(off_loop, work_that_ends_in_time_gives_its_result) {
  asio::io_context io;
  asio::thread_pool helper(1);
  off_loop_gate gate(1);
  auto r = run_once(io, gate, helper, [] { return std::string("page"); }, 2s);
  EXPECT_EQ(r.status, off_loop_status::done);
  EXPECT_EQ(r.value.value_or(""), "page");
  EXPECT_EQ(gate.unfinished(), 0u);
}

TEST(off_loop, a_stuck_helper_is_given_up_on_and_the_gate_refuses_more) {
  asio::io_context io;
  asio::thread_pool helper(1);
  off_loop_gate gate(1);
  std::promise<void> release;
  auto released = release.get_future().share();
  const auto start = std::chrono::steady_clock::now();
  auto stuck = run_once(io, gate, helper, [released] {
    released.wait();  // a read from a hung mount
    return std::string("late");
  }, 200ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(stuck.status, off_loop_status::timed_out);
  EXPECT_FALSE(stuck.value.has_value());
  EXPECT_LT(waited, 2s);
  // Still stuck: the next piece of work is refused at once, nothing queued behind it.
  EXPECT_EQ(gate.unfinished(), 1u);
  auto refused = run_once(io, gate, helper, [] { return std::string("x"); }, 2s);
  EXPECT_EQ(refused.status, off_loop_status::busy);
  // Once the read returns, its result is dropped and the gate opens again.
  release.set_value();
  helper.join();
  io.restart();
  io.run_for(50ms);
  EXPECT_EQ(gate.unfinished(), 0u);
}

}  // namespace
}  // namespace smtp_exporter::exporter
