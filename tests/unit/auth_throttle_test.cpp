// The per-source limits on basic-auth checks (auth_throttle.hpp) and the cache of verified
// credentials (credential_cache.hpp), with time given by the test.
#include <gtest/gtest.h>

#include "exporter/web/auth_throttle.hpp"
#include "exporter/web/credential_cache.hpp"

namespace {

using smtp_exporter::exporter::auth_throttle;
using smtp_exporter::exporter::credential_cache;
using namespace std::chrono_literals;
namespace ip = boost::asio::ip;

TEST(auth_throttle, a_source_is_an_ipv4_address_or_an_ipv6_slash_64) {
  EXPECT_EQ(auth_throttle::source_of(ip::make_address("192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(auth_throttle::source_of(ip::make_address("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(auth_throttle::source_of(ip::make_address("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(auth_throttle::source_of(ip::make_address("2001:db8:1:2:bbbb::9")), "2001:db8:1:2::/64");
  EXPECT_NE(auth_throttle::source_of(ip::make_address("2001:db8:1:3::1")), "2001:db8:1:2::/64");
}

TEST(auth_throttle, failures_use_up_a_sources_tokens_and_refill_with_time) {
  auth_throttle throttle({1, 3, 1000ms, 16});
  const auto t0 = auth_throttle::clock::now();
  for (int i = 0; i < 3; ++i) {
    auto a = throttle.admit("10.0.0.1", t0);
    ASSERT_TRUE(a.admitted) << i;
    throttle.finished(a, true, t0);
  }
  auto refused = throttle.admit("10.0.0.1", t0);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after_seconds, 1);
  // Another source is not affected.
  auto other = throttle.admit("10.0.0.2", t0);
  EXPECT_TRUE(other.admitted);
  throttle.finished(other, false, t0);
  // One token back after refill_every.
  auto later = throttle.admit("10.0.0.1", t0 + 1000ms);
  EXPECT_TRUE(later.admitted);
  throttle.finished(later, true, t0 + 1000ms);
  EXPECT_FALSE(throttle.admit("10.0.0.1", t0 + 1500ms).admitted);
}

TEST(auth_throttle, retry_after_says_when_the_next_token_comes) {
  auth_throttle throttle({1, 1, 6000ms, 16});
  const auto t0 = auth_throttle::clock::now();
  auto a = throttle.admit("10.0.0.1", t0);
  throttle.finished(a, true, t0);
  EXPECT_EQ(throttle.admit("10.0.0.1", t0).retry_after_seconds, 6);
  EXPECT_EQ(throttle.admit("10.0.0.1", t0 + 4500ms).retry_after_seconds, 2);
}

TEST(auth_throttle, successes_cost_no_token) {
  auth_throttle throttle({1, 2, 60000ms, 16});
  const auto t0 = auth_throttle::clock::now();
  for (int i = 0; i < 10; ++i) {
    auto a = throttle.admit("10.0.0.1", t0);
    ASSERT_TRUE(a.admitted) << i;
    throttle.finished(a, false, t0);
  }
}

TEST(auth_throttle, one_check_per_source_at_a_time) {
  auth_throttle throttle({1, 10, 1000ms, 16});
  const auto t0 = auth_throttle::clock::now();
  auto first = throttle.admit("10.0.0.1", t0);
  ASSERT_TRUE(first.admitted);
  auto second = throttle.admit("10.0.0.1", t0);
  EXPECT_FALSE(second.admitted);
  EXPECT_EQ(second.retry_after_seconds, 1);
  EXPECT_TRUE(throttle.admit("10.0.0.2", t0).admitted);
  throttle.finished(first, true, t0);
  EXPECT_TRUE(throttle.admit("10.0.0.1", t0).admitted);
}

TEST(auth_throttle, the_table_is_bounded_and_forgets_sources_as_good_as_new) {
  auth_throttle throttle({1, 2, 1000ms, 4});
  const auto t0 = auth_throttle::clock::now();
  for (int i = 0; i < 4; ++i) {
    auto a = throttle.admit("10.0.0." + std::to_string(i), t0);
    throttle.finished(a, true, t0);
  }
  EXPECT_EQ(throttle.tracked_sources(), 4u);
  // Full, none refilled yet: a new source shares the overflow entry.
  auto a = throttle.admit("10.0.1.1", t0);
  EXPECT_TRUE(a.admitted);
  throttle.finished(a, true, t0);
  EXPECT_EQ(throttle.tracked_sources(), 4u);
  auto b = throttle.admit("10.0.1.2", t0);  // the overflow's second token
  throttle.finished(b, true, t0);
  EXPECT_FALSE(throttle.admit("10.0.1.3", t0).admitted);
  // Once the others are back at a full bucket they are forgotten and a new source gets its own.
  EXPECT_TRUE(throttle.admit("10.0.1.4", t0 + 5s).admitted);
  EXPECT_EQ(throttle.tracked_sources(), 1u);
}

TEST(credential_cache, remembers_slides_and_forgets) {
  credential_cache cache(60s, 4);
  const auto t0 = credential_cache::clock::now();
  EXPECT_FALSE(cache.use("Basic cmlnaHQ=", t0));
  cache.remember("Basic cmlnaHQ=", t0);
  EXPECT_TRUE(cache.use("Basic cmlnaHQ=", t0 + 50s));
  // Used at 50 s: alive until 110 s, though remembered at 0.
  EXPECT_TRUE(cache.use("Basic cmlnaHQ=", t0 + 100s));
  EXPECT_FALSE(cache.use("Basic d3Jvbmc=", t0 + 100s));
  EXPECT_FALSE(cache.use("Basic cmlnaHQ=", t0 + 161s));
  cache.remember("Basic cmlnaHQ=", t0);
  cache.clear();
  EXPECT_FALSE(cache.use("Basic cmlnaHQ=", t0));
}

TEST(credential_cache, at_capacity_the_least_recently_used_goes) {
  credential_cache cache(600s, 2);
  const auto t0 = credential_cache::clock::now();
  cache.remember("a", t0);
  cache.remember("b", t0 + 1s);
  EXPECT_TRUE(cache.use("a", t0 + 2s));  // b is now the least recently used
  cache.remember("c", t0 + 3s);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_TRUE(cache.use("a", t0 + 4s));
  EXPECT_TRUE(cache.use("c", t0 + 4s));
  EXPECT_FALSE(cache.use("b", t0 + 4s));
}

}  // namespace
