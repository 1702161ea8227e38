// interner<T> shares one copy of equal values, lets values go when no record holds them, and keeps
// its table bounded; the records intern their transcript and TLS facts through a record_pool.
#include "exporter/schedule/interner.hpp"

#include <gtest/gtest.h>

#include "exporter/schedule/target_status.hpp"

namespace smtp_exporter::exporter {
namespace {

TEST(interner, equal_values_share_one_copy_and_different_ones_do_not) {
  interner<std::string> pool;
  auto a = pool.intern("S: 220 mx.test ESMTP\n");
  auto b = pool.intern(std::string("S: 220 mx.test ESMTP\n"));
  auto c = pool.intern("S: 220 other.test ESMTP\n");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(*c, "S: 220 other.test ESMTP\n");
}

// Values whose hashes collide are told apart by value.
struct constant_hash {
  std::size_t operator()(const std::string&) const { return 42; }
};

TEST(interner, colliding_hashes_compare_values) {
  interner<std::string, constant_hash> pool;
  auto a = pool.intern("a");
  auto b = pool.intern("b");
  EXPECT_NE(a.get(), b.get());
  EXPECT_EQ(*a, "a");
  EXPECT_EQ(*b, "b");
  EXPECT_EQ(pool.intern("a").get(), a.get());
}

TEST(interner, a_value_no_one_holds_is_freed_and_the_table_stays_bounded) {
  interner<std::string> pool;
  std::weak_ptr<const std::string> first = pool.intern("first");
  EXPECT_TRUE(first.expired());  // nobody kept it
  for (int i = 0; i < 10000; ++i) pool.intern("value " + std::to_string(i));
  // Every value expired at once; sweeps keep the table near the live count (here none).
  EXPECT_LE(pool.size(), 128u);
  auto kept = pool.intern("kept");
  EXPECT_EQ(pool.intern("kept").get(), kept.get());
}

probes::session_result tls_result(const std::string& leaf_cn) {
  probes::session_result r;
  r.probes[0] = {true, probes::failure_reason::none, 220, {}, false};
  r.tls_seen = true;
  r.tls.version = "TLSv1.3";
  r.tls.cipher = "TLS_AES_256_GCM_SHA384";
  r.tls.chain = {{0, leaf_cn, "intermediate", 1700000000, 1800000000}};
  r.tls.chain_length = 1;
  r.transcript = {"S: 220 mx.test ESMTP", "C: QUIT"};
  return r;
}

TEST(record_pool, records_share_equal_tls_facts_and_transcripts) {
  record_pool pool;
  target_status a, b, c;
  a.record(tls_result("mx.test"), 1, &pool);
  b.record(tls_result("mx.test"), 2, &pool);
  c.record(tls_result("other.test"), 3, &pool);
  EXPECT_EQ(a.tls.get(), b.tls.get());
  EXPECT_NE(a.tls.get(), c.tls.get());
  EXPECT_EQ(c.tls->chain.front().subject_cn, "other.test");
  EXPECT_EQ(a.transcript.get(), c.transcript.get());
  EXPECT_EQ(*a.transcript, "S: 220 mx.test ESMTP\nC: QUIT\n");
}

TEST(record_pool, tls_facts_that_differ_in_any_field_are_not_shared) {
  record_pool pool;
  auto base = tls_result("mx.test");
  auto facts = pool.tls.intern(base.tls);
  auto changed = base.tls;
  changed.chain.front().not_after += 1;
  EXPECT_NE(pool.tls.intern(changed).get(), facts.get());
  changed = base.tls;
  changed.verify_error = "certificate has expired";
  EXPECT_NE(pool.tls.intern(changed).get(), facts.get());
  changed = base.tls;
  changed.ocsp_stapled = true;
  EXPECT_NE(pool.tls.intern(changed).get(), facts.get());
  EXPECT_EQ(pool.tls.intern(base.tls).get(), facts.get());
}

TEST(failure_counts, counts_each_reason_on_its_own) {
  failure_counts counts;
  counts.add(probes::failure_reason::timeout);
  counts.add(probes::failure_reason::connect_refused);
  counts.add(probes::failure_reason::timeout);
  EXPECT_EQ(counts[static_cast<std::size_t>(probes::failure_reason::timeout)], 2u);
  EXPECT_EQ(counts[static_cast<std::size_t>(probes::failure_reason::connect_refused)], 1u);
  EXPECT_EQ(counts[static_cast<std::size_t>(probes::failure_reason::cert_expired)], 0u);
  EXPECT_EQ(counts[static_cast<std::size_t>(probes::failure_reason::none)], 0u);
}

}  // namespace
}  // namespace smtp_exporter::exporter
