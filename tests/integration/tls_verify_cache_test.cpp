// The verified-chain cache (probes/tls_verify_cache.*) changes no fact and no reason: a chain
// served again is a cache hit, and a hit still fails on an expired certificate and on a wrong
// host name, with exactly the facts a context without the cache reports.
#include <gtest/gtest.h>

#include <thread>

#include "probes/tls/context.hpp"
#include "probes/tls/verify_cache.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/in_process.hpp"

namespace smtp_test {
namespace {

namespace probes = smtp_exporter::probes;

std::shared_ptr<boost::asio::ssl::context> context_for(const test_pki& pki, bool with_cache) {
  std::string error;
  auto context = probes::make_client_context({pki.root_file.string(), "", ""}, error);
  EXPECT_TRUE(context) << error;
  // A context without the cache: OpenSSL's own X509_verify_cert() every time.
  if (context && !with_cache) SSL_CTX_set_cert_verify_callback(context->native_handle(), nullptr, nullptr);
  return context;
}

probes::session_result run(std::uint16_t port, const std::string& server_name,
                           std::shared_ptr<boost::asio::ssl::context> context) {
  probes::session_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.mode = probes::transport::implicit_tls;
  o.server_name = server_name;
  o.timeout = std::chrono::seconds(10);
  o.due = {true, true, false};
  o.tls_context = std::move(context);
  auto r = run_in_process(o);
  EXPECT_TRUE(r.has_value());
  return r.value_or(probes::session_result{});
}

// Everything the metrics read from a TLS run.
void expect_same_facts(const probes::session_result& cached, const probes::session_result& fresh) {
  EXPECT_EQ(cached.outcome(probes::probe_kind::tls).reason, fresh.outcome(probes::probe_kind::tls).reason);
  EXPECT_EQ(cached.outcome(probes::probe_kind::tls).reply_code,
            fresh.outcome(probes::probe_kind::tls).reply_code);
  EXPECT_EQ(cached.tls.verified, fresh.tls.verified);
  EXPECT_EQ(cached.tls.hostname_match, fresh.tls.hostname_match);
  EXPECT_EQ(cached.tls.verify_reason, fresh.tls.verify_reason);
  EXPECT_EQ(cached.tls.verify_error, fresh.tls.verify_error);
  EXPECT_EQ(cached.tls.chain_length, fresh.tls.chain_length);
  ASSERT_EQ(cached.tls.chain.size(), fresh.tls.chain.size());
  for (std::size_t i = 0; i < cached.tls.chain.size(); ++i) {
    EXPECT_EQ(cached.tls.chain[i].subject_cn, fresh.tls.chain[i].subject_cn);
    EXPECT_EQ(cached.tls.chain[i].issuer_cn, fresh.tls.chain[i].issuer_cn);
    EXPECT_EQ(cached.tls.chain[i].not_before, fresh.tls.chain[i].not_before);
    EXPECT_EQ(cached.tls.chain[i].not_after, fresh.tls.chain[i].not_after);
  }
  EXPECT_EQ(cached.tls.version, fresh.tls.version);
}

TEST(tls_verify_cache, a_hit_still_checks_the_host_name) {
  temp_dir dir;
  test_pki pki;
  std::uint16_t port = 0;
  auto peer = start_implicit_tls_smtp(dir, pki.valid.chain_file, pki.valid.key_file, port);
  ASSERT_NE(port, 0) << peer->log();
  auto cached = context_for(pki, true);
  auto fresh = context_for(pki, false);
  SSL_CTX* ctx = cached->native_handle();

  auto first = run(port, "mx.test", cached);
  EXPECT_EQ(first.outcome(probes::probe_kind::tls).reason, probes::failure_reason::none) << first.detail;
  EXPECT_EQ(probes::verify_cache_stats_of(ctx).entries, 1u);
  auto second = run(port, "mx.test", cached);
  EXPECT_EQ(probes::verify_cache_stats_of(ctx).hits, 1u);
  expect_same_facts(second, run(port, "mx.test", fresh));
  EXPECT_TRUE(second.tls.verified);

  // Same chain, another name: the hit is refused and OpenSSL reports the mismatch itself.
  auto wrong = run(port, "other.test", cached);
  EXPECT_EQ(wrong.outcome(probes::probe_kind::tls).reason, probes::failure_reason::cert_hostname_mismatch);
  EXPECT_FALSE(wrong.tls.hostname_match);
  expect_same_facts(wrong, run(port, "other.test", fresh));
  EXPECT_EQ(probes::verify_cache_stats_of(ctx).hits, 1u);

  // An IP literal is matched against the IP SANs on a hit too.
  auto by_ip = run(port, "127.0.0.1", cached);
  EXPECT_EQ(by_ip.outcome(probes::probe_kind::tls).reason, probes::failure_reason::none) << by_ip.detail;
  EXPECT_EQ(probes::verify_cache_stats_of(ctx).hits, 2u);
  auto wrong_ip = run(port, "127.0.0.2", cached);
  EXPECT_EQ(wrong_ip.outcome(probes::probe_kind::tls).reason, probes::failure_reason::cert_hostname_mismatch);
  expect_same_facts(wrong_ip, run(port, "127.0.0.2", fresh));
  EXPECT_EQ(probes::verify_cache_stats_of(ctx).entries, 1u);  // failures are never stored
}

TEST(tls_verify_cache, a_hit_still_checks_expiry) {
  temp_dir dir;
  test_pki pki;
  // A leaf that expires 3 s from now, signed by the test intermediate.
  auto key = make_key();
  const std::time_t now = std::time(nullptr);
  cert_spec spec{"mx.test", {"mx.test"}, {}, now - 60, now + 3, false};
  auto leaf = make_certificate(spec, key, &pki.intermediate, pki.intermediate_key);
  auto chain_file = dir.path() / "short.chain.pem";
  auto key_file = dir.path() / "short.key.pem";
  write_pem(chain_file, {&leaf, &pki.intermediate});
  write_key(key_file, key);
  std::uint16_t port = 0;
  auto peer = start_implicit_tls_smtp(dir, chain_file, key_file, port);
  ASSERT_NE(port, 0) << peer->log();
  auto cached = context_for(pki, true);
  auto fresh = context_for(pki, false);

  auto before = run(port, "mx.test", cached);
  ASSERT_EQ(before.outcome(probes::probe_kind::tls).reason, probes::failure_reason::none) << before.detail;
  EXPECT_EQ(probes::verify_cache_stats_of(cached->native_handle()).entries, 1u);

  // Wait until the leaf has expired (whole seconds; one more to be sure).
  while (std::time(nullptr) <= now + 4) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto after = run(port, "mx.test", cached);
  EXPECT_EQ(after.outcome(probes::probe_kind::tls).reason, probes::failure_reason::cert_expired) << after.detail;
  EXPECT_FALSE(after.tls.verified);
  expect_same_facts(after, run(port, "mx.test", fresh));
  EXPECT_EQ(probes::verify_cache_stats_of(cached->native_handle()).hits, 0u);
}

}  // namespace
}  // namespace smtp_test
