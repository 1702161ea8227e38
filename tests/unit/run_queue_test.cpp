#include "exporter/schedule/run_queue.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace smtp_exporter::exporter {
namespace {

using queue = run_queue<int, std::string>;

std::vector<std::string> drain(queue& q) {
  std::vector<std::string> out;
  while (!q.empty()) out.push_back(q.pop().value);
  return out;
}

TEST(run_queue, pops_the_earliest_first_and_equal_times_in_push_order) {
  queue q;
  q.push(30, "c");
  q.push(10, "a1");
  q.push(20, "b");
  q.push(10, "a2");
  q.push(10, "a3");
  ASSERT_EQ(q.size(), 5u);
  EXPECT_EQ(q.top().due, 10);
  EXPECT_EQ(q.top().value, "a1");
  EXPECT_EQ(drain(q), (std::vector<std::string>{"a1", "a2", "a3", "b", "c"}));
}

TEST(run_queue, erase_if_keeps_the_order_of_what_is_left) {
  queue q;
  for (int i = 0; i < 100; ++i) q.push(100 - i, "t" + std::to_string(100 - i));
  q.erase_if([](const std::string& v) { return std::stoi(v.substr(1)) % 2 == 1; });
  ASSERT_EQ(q.size(), 50u);
  auto left = drain(q);
  for (std::size_t i = 0; i < left.size(); ++i) EXPECT_EQ(left[i], "t" + std::to_string(2 * (i + 1)));
}

TEST(run_queue, pushes_after_pops_still_come_out_in_order) {
  queue q;
  q.push(5, "x");
  q.push(1, "y");
  EXPECT_EQ(q.pop().value, "y");
  q.push(3, "z");
  q.push(5, "w");  // after "x": pushed later at the same time
  EXPECT_EQ(drain(q), (std::vector<std::string>{"z", "x", "w"}));
  q.push(1, "v");
  q.clear();
  EXPECT_TRUE(q.empty());
}

}  // namespace
}  // namespace smtp_exporter::exporter
