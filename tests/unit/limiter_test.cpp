// The one slot limiter every kind of check waits on (exporter/schedule/limiter.hpp): the cap, first
// come first served, a cancelled waiter skipped, a slot given back however a run ends.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "exporter/schedule/limiter.hpp"

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;

struct run_log {
  std::vector<int> granted;   // in the order slots were handed out
  std::vector<int> refused;   // woken without a slot
};

// Asks for a slot for run `id` and records whether it got one; a slot got stays held until the
// test releases it.
asio::awaitable<void> hold(slot_limiter& limiter, std::shared_ptr<slot_limiter::ticket> ticket,
                           int id, run_log& log) {
  const bool held = co_await limiter.acquire(std::move(ticket));
  if (held) {
    log.granted.push_back(id);
  } else {
    log.refused.push_back(id);
  }
}

// Starts runs 0..n-1, in order; returns their tickets.
std::vector<std::shared_ptr<slot_limiter::ticket>> start_runs(asio::io_context& io,
                                                              slot_limiter& limiter, int n,
                                                              run_log& log) {
  std::vector<std::shared_ptr<slot_limiter::ticket>> tickets;
  for (int id = 0; id < n; ++id) {
    tickets.push_back(std::make_shared<slot_limiter::ticket>(io.get_executor()));
    asio::co_spawn(io, hold(limiter, tickets.back(), id, log), asio::detached);
  }
  io.poll();
  return tickets;
}

TEST(slot_limiter, caps_the_slots_and_serves_waiters_first_come_first_served) {
  asio::io_context io;
  slot_limiter limiter(2);
  run_log log;
  const auto tickets = start_runs(io, limiter, 5, log);
  EXPECT_EQ(log.granted, (std::vector<int>{0, 1}));
  EXPECT_EQ(limiter.in_flight(), 2u);
  limiter.release();
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(limiter.in_flight(), 2u) << "a slot handed over stays counted";
  limiter.release();
  limiter.release();
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0, 1, 2, 3, 4}));
  for (int i = 0; i < 2; ++i) limiter.release();
  EXPECT_EQ(limiter.in_flight(), 0u);
}

TEST(slot_limiter, a_cancelled_waiter_leaves_without_a_slot_and_is_skipped) {
  asio::io_context io;
  slot_limiter limiter(1);
  run_log log;
  const auto tickets = start_runs(io, limiter, 3, log);
  tickets[1]->cancel();
  io.poll();
  EXPECT_EQ(log.refused, (std::vector<int>{1}));
  limiter.release();
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0, 2})) << "the slot skips the cancelled waiter";
  limiter.release();
  EXPECT_EQ(limiter.in_flight(), 0u);
}

TEST(slot_limiter, cancel_all_wakes_every_waiter_and_keeps_held_slots) {
  asio::io_context io;
  slot_limiter limiter(1);
  run_log log;
  start_runs(io, limiter, 3, log);
  limiter.cancel_all();
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0}));
  EXPECT_EQ(log.refused, (std::vector<int>{1, 2}));
  EXPECT_EQ(limiter.in_flight(), 1u);
  limiter.release();
  EXPECT_EQ(limiter.in_flight(), 0u);
}

TEST(slot_limiter, a_larger_cap_serves_waiters_at_once_and_a_smaller_one_waits_for_releases) {
  asio::io_context io;
  slot_limiter limiter(1);
  run_log log;
  start_runs(io, limiter, 4, log);
  limiter.set_max(3);
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0, 1, 2}));
  limiter.set_max(1);
  limiter.release();  // 2 held, cap 1: nothing handed over
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0, 1, 2}));
  limiter.release();  // 1 held: still at the cap
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0, 1, 2}));
  limiter.release();
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0, 1, 2, 3}));
}

TEST(slot_limiter, try_acquire_takes_a_free_slot_but_never_overtakes_a_waiter) {
  asio::io_context io;
  slot_limiter limiter(2);
  EXPECT_TRUE(limiter.try_acquire());
  run_log log;
  start_runs(io, limiter, 2, log);  // run 0 gets the second slot, run 1 waits
  EXPECT_FALSE(limiter.try_acquire()) << "at the cap";
  limiter.release();
  io.poll();
  EXPECT_EQ(log.granted, (std::vector<int>{0, 1})) << "the released slot went to the waiter";
  EXPECT_FALSE(limiter.try_acquire());
  limiter.release();
  EXPECT_TRUE(limiter.try_acquire()) << "a free slot and nobody waiting";
}

TEST(slot_limiter, a_guard_gives_the_slot_back_when_a_run_throws) {
  asio::io_context io;
  slot_limiter limiter(1);
  bool thrown = false;
  auto failing_run = [&]() -> asio::awaitable<void> {
    const bool held = co_await limiter.acquire();
    slot_guard slot(limiter, held);
    throw std::runtime_error("a bug in a check");
  };
  asio::co_spawn(io, failing_run(), [&](std::exception_ptr e) { thrown = e != nullptr; });
  io.poll();
  EXPECT_TRUE(thrown);
  EXPECT_EQ(limiter.in_flight(), 0u) << "the slot is not lost";
}

}  // namespace
}  // namespace smtp_exporter::exporter
