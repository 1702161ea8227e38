// token_cache's bookkeeping, without a request: one source per credential set, and pruning the
// ones a reload no longer uses. (Requests, refreshes and backoff: tests/integration/oauth_token_test.cpp.)
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "probes/oauth/token_cache.hpp"

namespace smtp_exporter::probes::oauth {
namespace {

credential make(std::string client_id, std::string_view secret = "s3cret-value") {
  credential c;
  c.token_url = "https://127.0.0.1:9/token";
  c.client_id = std::move(client_id);
  c.client_secret = secret_string(secret);
  c.refresh_token = secret_string(std::string_view("refresh-value"));
  c.scope = "scope";
  return c;
}

TEST(oauth_token_cache_keys, same_credential_same_source_and_a_new_secret_a_new_one) {
  boost::asio::io_context io;
  token_cache cache(io.get_executor());
  auto a = cache.source(make("one"));
  EXPECT_EQ(cache.source(make("one")), a);
  EXPECT_NE(cache.source(make("two")), a);
  EXPECT_NE(cache.source(make("one", "another-secret")), a);
  EXPECT_EQ(cache.size(), 3u);
  // The key may be logged: it holds a digest of the secrets, never their bytes.
  EXPECT_EQ(a->key().find("s3cret-value"), std::string::npos) << a->key();
  EXPECT_EQ(a->key().find("refresh-value"), std::string::npos) << a->key();
}

TEST(oauth_token_cache_keys, prune_forgets_only_the_sources_nobody_holds) {
  boost::asio::io_context io;
  token_cache cache(io.get_executor());
  auto kept = cache.source(make("kept"));
  (void)cache.source(make("dropped"));  // a credential the new config no longer names
  ASSERT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.prune_unused(), 1u);
  EXPECT_EQ(cache.size(), 1u);
  // The held one is still the one handed out: its token survives the reload.
  EXPECT_EQ(cache.source(make("kept")), kept);
  kept.reset();
  EXPECT_EQ(cache.prune_unused(), 1u);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace smtp_exporter::probes::oauth
