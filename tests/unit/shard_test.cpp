// Rendezvous sharding: every target has exactly one owner, shares are even, and growing the
// replica count moves only the targets the new replica takes.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "exporter/schedule/shard.hpp"

namespace smtp_exporter::exporter {
namespace {

std::vector<std::string> names(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) out.push_back("target-" + std::to_string(i) + ".example");
  return out;
}

TEST(shard, every_target_has_exactly_one_owner_and_shares_are_even) {
  const auto all = names(1000);
  for (std::uint32_t count : {1u, 2u, 3u, 7u}) {
    std::vector<std::size_t> owned(count, 0);
    for (const auto& n : all) {
      int owners = 0;
      for (std::uint32_t i = 0; i < count; ++i) owners += shard_spec{i, count}.owns(n) ? 1 : 0;
      ASSERT_EQ(owners, 1) << n << " with " << count << " shards";
      ++owned[shard_of(n, count)];
    }
    for (std::uint32_t i = 0; i < count; ++i) {
      // Within 25% of the fair share: a biased hash would leave one replica with the bulk.
      EXPECT_NEAR(static_cast<double>(owned[i]), 1000.0 / count, 250.0 / count)
          << "shard " << i << " of " << count;
    }
  }
}

TEST(shard, growing_from_three_to_four_moves_only_what_the_new_shard_takes) {
  const auto all = names(1000);
  std::size_t moved = 0;
  for (const auto& n : all) {
    auto before = shard_of(n, 3);
    auto after = shard_of(n, 4);
    if (before != after) {
      ++moved;
      // Rendezvous hashing: a target only ever moves to the new replica.
      EXPECT_EQ(after, 3u) << n;
    }
  }
  std::printf("3 -> 4 shards moved %zu of %zu targets\n", moved, all.size());
  EXPECT_LE(moved, 350u);  // the bound; the expectation is about 1/4
  EXPECT_GE(moved, 150u);  // and some do move, or the new replica would sit idle
}

TEST(shard, assignment_is_a_fixed_function_of_the_name) {
  // Replicas built and started apart must agree: these values are part of the contract.
  EXPECT_EQ(shard_of("gmail-587", 3), shard_of("gmail-587", 3));
  EXPECT_EQ(shard_of("anything", 1), 0u);
  std::set<std::uint32_t> seen;
  for (const auto& n : names(50)) seen.insert(shard_of(n, 5));
  EXPECT_EQ(seen.size(), 5u);
}

TEST(shard, ordinal_from_hostname) {
  EXPECT_EQ(ordinal_from_hostname("smtp-exporter-0"), 0u);
  EXPECT_EQ(ordinal_from_hostname("smtp-exporter-12"), 12u);
  EXPECT_EQ(ordinal_from_hostname("smtp-exporter"), std::nullopt);
  EXPECT_EQ(ordinal_from_hostname("smtp-exporter-"), std::nullopt);
  EXPECT_EQ(ordinal_from_hostname("smtp-exporter-7b9f"), std::nullopt);
  EXPECT_EQ(ordinal_from_hostname("host"), std::nullopt);
  EXPECT_EQ(ordinal_from_hostname("a-99999999999"), std::nullopt);  // overflows uint32
}

TEST(shard, validate_names_the_flags) {
  EXPECT_EQ(validate(shard_spec{0, 1}), std::nullopt);
  EXPECT_EQ(validate(shard_spec{2, 3}), std::nullopt);
  EXPECT_EQ(validate(shard_spec{3, 3}),
            std::optional<std::string>("--shard.index (3) must be below --shard.count (3)"));
  EXPECT_EQ(validate(shard_spec{0, 0}),
            std::optional<std::string>("--shard.count must be at least 1"));
}

}  // namespace
}  // namespace smtp_exporter::exporter
