// The one bound on checks in flight, shared by every kind of check: the scheduler's SMTP sessions
// and each hosted check_runner's runs (DNSBL lookups) wait here for a slot.
//
// - At most max() slots are held at once; a run over the cap waits for one, first come first
//   served.
// - A waiter can be cancelled (its run was stopped): it wakes at once, without a slot, and its
//   place in the queue is skipped when its turn comes, which keeps stopping many waiters linear.
// - A released slot goes straight to the next live waiter, so a run that arrives meanwhile never
//   overtakes the queue.
// - slot_guard gives the slot back however a run ends, an exception included: a leaked slot would
//   be lost to every later run for good.
//
// Thread-safety: everything on one executor (the scheduler's), except in_flight(), which any
// thread may read (scrapes report it in smtp_exporter_probes_in_flight).
#pragma once

#include <atomic>
#include <cstddef>
#include <deque>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

namespace smtp_exporter::exporter {

class slot_limiter {
 public:
  // One run's place in the queue. Made by the run, so that whoever stops the run can cancel().
  class ticket {
   public:
    explicit ticket(const boost::asio::any_io_executor& executor);
    // Wakes the waiting run without a slot, unless it was already handed one (acquire() then
    // returns true and the run gives the slot back itself).
    void cancel();
    bool granted() const { return granted_; }

   private:
    friend class slot_limiter;
    boost::asio::steady_timer timer_;
    bool granted_ = false;
    bool cancelled_ = false;
  };

  explicit slot_limiter(std::size_t max_in_flight);
  slot_limiter(const slot_limiter&) = delete;
  slot_limiter& operator=(const slot_limiter&) = delete;

  // Waits for a slot. true: the caller holds one and must release() it (or let a slot_guard do
  // it); false: the wait was cancelled (ticket::cancel, cancel_all) and no slot is held.
  boost::asio::awaitable<bool> acquire(std::shared_ptr<ticket> t);
  // acquire() with a ticket of its own, for runs that are only ever stopped all together.
  boost::asio::awaitable<bool> acquire();
  // A free slot now, or false: no ticket, no timer (the common case, under the cap).
  bool try_acquire();
  void release();
  // Wakes every waiter without a slot (a stop). Slots held stay held until released.
  void cancel_all();
  // A new cap (a reload): waiters are served at once up to it; over it, slots already held are
  // kept and nothing more is handed out until enough are released.
  void set_max(std::size_t max_in_flight);

  std::size_t max() const { return max_; }
  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

 private:
  // Hands the slot to the next live waiter; false when nobody waits.
  bool hand_over();

  std::size_t max_;
  std::size_t used_ = 0;
  std::atomic<std::size_t> in_flight_{0};  // used_, for readers on other threads
  std::deque<std::shared_ptr<ticket>> waiters_;
};

// Gives a held slot back when it goes out of scope (unless released() first).
class slot_guard {
 public:
  slot_guard(slot_limiter& limiter, bool held) : limiter_(&limiter), held_(held) {}
  slot_guard(const slot_guard&) = delete;
  slot_guard& operator=(const slot_guard&) = delete;
  ~slot_guard() { release(); }
  void release() {
    if (held_) limiter_->release();
    held_ = false;
  }
  bool held() const { return held_; }

 private:
  slot_limiter* limiter_;
  bool held_;
};

}  // namespace smtp_exporter::exporter
