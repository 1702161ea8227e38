// The scheduler's queue of targets waiting for their next run: a min-heap of (due time, value),
// earliest first, and in the order they were pushed among equal times. One timer for the whole
// scheduler waits for the earliest entry, so a waiting target costs one entry here instead of a
// timer and a coroutine frame of its own (bench/README.md, "Memory at 10,000 STARTTLS targets").
//
// Thread-safety: none; the scheduler uses it on its executor only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace smtp_exporter::exporter {

template <typename TimePoint, typename Value>
class run_queue {
 public:
  struct entry {
    TimePoint due;
    std::uint64_t order;  // push order: equal due times come out first in, first out
    Value value;
  };

  bool empty() const { return heap_.empty(); }
  std::size_t size() const { return heap_.size(); }
  // The earliest entry; the queue must not be empty.
  const entry& top() const { return heap_.front(); }

  void push(TimePoint due, Value value) {
    heap_.push_back(entry{due, next_order_++, std::move(value)});
    std::push_heap(heap_.begin(), heap_.end(), later);
  }

  // Removes and returns the earliest entry; the queue must not be empty.
  entry pop() {
    std::pop_heap(heap_.begin(), heap_.end(), later);
    entry e = std::move(heap_.back());
    heap_.pop_back();
    return e;
  }

  // Drops every entry whose value matches `drop` (linear; a reload is linear anyway).
  template <typename Predicate>
  void erase_if(Predicate drop) {
    std::erase_if(heap_, [&](const entry& e) { return drop(e.value); });
    std::make_heap(heap_.begin(), heap_.end(), later);
    if (heap_.capacity() > 2 * heap_.size() + 64) heap_.shrink_to_fit();
  }

  void clear() {
    heap_.clear();
    heap_.shrink_to_fit();
  }

 private:
  // std::*_heap keep the greatest first: "greater" is the one due earlier.
  static bool later(const entry& a, const entry& b) {
    return a.due != b.due ? b.due < a.due : a.order > b.order;
  }

  std::vector<entry> heap_;
  std::uint64_t next_order_ = 0;
};

}  // namespace smtp_exporter::exporter
