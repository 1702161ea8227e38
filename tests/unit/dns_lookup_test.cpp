// The answer cache (probes/dns/dns_lookup.hpp) over scripted answers and an injected clock:
// answers kept for their clamped TTL, NXDOMAIN/NODATA for the negative TTL, errors never kept,
// the entry bound, and one upstream query for questions asked while it is in flight.
#include "probes/dns/dns_lookup.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "tests/support/run_task.hpp"
#include "tests/support/scripted_dns_lookup.hpp"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using smtp_test::scripted_dns_lookup;
using st = dns_answer::status;
using steady_clock = std::chrono::steady_clock;

class dns_cache : public ::testing::Test {
 protected:
  dns_cache_options options() {
    dns_cache_options o;
    o.min_ttl = 10s;
    o.max_ttl = 600s;
    o.negative_ttl = 60s;
    o.max_entries = 3;
    return o;
  }
  dns_answer ask(cached_dns_lookup& cache, const std::string& name,
                 dns_record_type type = dns_record_type::txt) {
    return smtp_test::run(io_, cache.query(name, type, steady_clock::now() + 1s));
  }
  asio::io_context io_;
  scripted_dns_lookup upstream_;
  steady_clock::time_point now_ = steady_clock::now();
};

TEST_F(dns_cache, answers_are_kept_for_their_ttl_clamped) {
  cached_dns_lookup cache(upstream_, options(), [this] { return now_; });
  upstream_.txt("example.com", {"v=spf1 -all"}, 120);
  upstream_.txt("short.example.com", {"x"}, 1);       // kept 10 s (min_ttl)
  upstream_.txt("long.example.com", {"x"}, 86400);    // kept 600 s (max_ttl)
  EXPECT_EQ(ask(cache, "example.com").texts.front(), "v=spf1 -all");
  EXPECT_EQ(ask(cache, "Example.COM.").texts.front(), "v=spf1 -all");  // same question
  ask(cache, "short.example.com");
  ask(cache, "long.example.com");
  EXPECT_EQ(cache.stats().queries_sent, 3u);
  EXPECT_EQ(cache.stats().cache_hits, 1u);
  now_ += 9s;
  ask(cache, "short.example.com");
  EXPECT_EQ(upstream_.count("short.example.com TXT"), 1);
  now_ += 2s;  // 11 s
  ask(cache, "short.example.com");
  EXPECT_EQ(upstream_.count("short.example.com TXT"), 2);
  now_ += 110s;  // 121 s
  ask(cache, "example.com");
  EXPECT_EQ(upstream_.count("example.com TXT"), 2);
  now_ += 478s;  // 599 s since long's answer
  ask(cache, "long.example.com");
  EXPECT_EQ(upstream_.count("long.example.com TXT"), 1);
  now_ += 2s;
  ask(cache, "long.example.com");
  EXPECT_EQ(upstream_.count("long.example.com TXT"), 2);
}

TEST_F(dns_cache, negative_answers_for_the_negative_ttl_errors_never) {
  cached_dns_lookup cache(upstream_, options(), [this] { return now_; });
  upstream_.fail("nodata.example.com", st::nodata);
  EXPECT_EQ(ask(cache, "gone.example.com").outcome, st::nxdomain);
  EXPECT_EQ(ask(cache, "nodata.example.com").outcome, st::nodata);
  now_ += 59s;
  EXPECT_EQ(ask(cache, "gone.example.com").outcome, st::nxdomain);
  EXPECT_EQ(ask(cache, "nodata.example.com").outcome, st::nodata);
  EXPECT_EQ(upstream_.count("gone.example.com TXT"), 1);
  EXPECT_EQ(upstream_.count("nodata.example.com TXT"), 1);
  now_ += 2s;
  ask(cache, "gone.example.com");
  EXPECT_EQ(upstream_.count("gone.example.com TXT"), 2);

  for (const st error : {st::timeout, st::servfail, st::refused, st::unreachable, st::failure}) {
    upstream_.fail("error.example.com", error);
    upstream_.clear_log();
    EXPECT_EQ(ask(cache, "error.example.com").outcome, error);
    EXPECT_EQ(ask(cache, "error.example.com").outcome, error);
    EXPECT_EQ(upstream_.count("error.example.com TXT"), 2) << static_cast<int>(error);
  }
}

TEST_F(dns_cache, types_are_separate_questions) {
  cached_dns_lookup cache(upstream_, options(), [this] { return now_; });
  upstream_.address("mx.example.com", {"192.0.2.1", "2001:db8::1"});
  EXPECT_EQ(ask(cache, "mx.example.com", dns_record_type::a).addresses.size(), 1u);
  EXPECT_EQ(ask(cache, "mx.example.com", dns_record_type::aaaa).addresses.front(),
            asio::ip::make_address("2001:db8::1"));
  EXPECT_EQ(cache.stats().queries_sent, 2u);
}

TEST_F(dns_cache, entries_are_bounded_least_recently_used_first) {
  cached_dns_lookup cache(upstream_, options(), [this] { return now_; });
  for (const char* name : {"a.example", "b.example", "c.example"}) upstream_.txt(name, {"x"});
  upstream_.txt("d.example", {"x"});
  ask(cache, "a.example");
  ask(cache, "b.example");
  ask(cache, "c.example");
  ask(cache, "a.example");  // a is now the most recently used
  ask(cache, "d.example");  // b goes
  EXPECT_EQ(cache.stats().entries, 3u);
  ask(cache, "a.example");
  ask(cache, "c.example");
  ask(cache, "d.example");
  EXPECT_EQ(upstream_.count("a.example TXT") + upstream_.count("c.example TXT") +
                upstream_.count("d.example TXT"),
            3);
  ask(cache, "b.example");
  EXPECT_EQ(upstream_.count("b.example TXT"), 2);
}

TEST_F(dns_cache, a_question_in_flight_is_asked_once) {
  cached_dns_lookup cache(upstream_, options(), [this] { return now_; });
  upstream_.txt("example.com", {"v=spf1 -all"});
  upstream_.delay(50ms);
  std::vector<dns_answer> answers;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(io_, cache.query("example.com", dns_record_type::txt, steady_clock::now() + 1s),
                   [&](std::exception_ptr, dns_answer a) { answers.push_back(std::move(a)); });
  }
  io_.run();
  ASSERT_EQ(answers.size(), 5u);
  for (const auto& a : answers) EXPECT_EQ(a.texts.front(), "v=spf1 -all");
  EXPECT_EQ(upstream_.count("example.com TXT"), 1);
  EXPECT_EQ(cache.stats().queries_sent, 1u);
  EXPECT_EQ(cache.stats().joined, 4u);
}

TEST_F(dns_cache, a_waiter_keeps_its_own_deadline) {
  cached_dns_lookup cache(upstream_, options());
  upstream_.txt("example.com", {"v=spf1 -all"});
  upstream_.delay(300ms);
  std::optional<dns_answer> first, impatient;
  asio::co_spawn(io_, cache.query("example.com", dns_record_type::txt, steady_clock::now() + 2s),
                 [&](std::exception_ptr, dns_answer a) { first = std::move(a); });
  asio::co_spawn(io_,
                 cache.query("example.com", dns_record_type::txt, steady_clock::now() + 50ms),
                 [&](std::exception_ptr, dns_answer a) { impatient = std::move(a); });
  io_.run();
  ASSERT_TRUE(first && impatient);
  EXPECT_EQ(first->outcome, st::ok);
  EXPECT_EQ(impatient->outcome, st::timeout);
}

TEST_F(dns_cache, zero_entries_keeps_nothing) {
  dns_cache_options o = options();
  o.max_entries = 0;
  cached_dns_lookup cache(upstream_, o);
  upstream_.txt("example.com", {"x"});
  ask(cache, "example.com");
  ask(cache, "example.com");
  EXPECT_EQ(upstream_.count("example.com TXT"), 2);
  EXPECT_EQ(normalized_dns_name("MX.Example.COM."), "mx.example.com");
}

}  // namespace
}  // namespace smtp_exporter::probes
