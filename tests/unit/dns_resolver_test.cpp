// Network rule for these tests: only numeric addresses, "localhost" and ".invalid" names go to the
// system configuration; everything else is asked of a DNS server the test runs on 127.0.0.1.
#include "probes/dns/resolver.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady_clock = std::chrono::steady_clock;
using status = resolve_result::status;
using asio::ip::udp;

// A DNS server on 127.0.0.1 whose answers depend on the first label of the name asked:
//   silent*  never answers;          nx*     NXDOMAIN;
//   empty*   no records (NODATA);    dual*   A 127.0.0.7 and AAAA ::1;
//   anything else: A 127.0.0.7 and no AAAA.
class fake_dns_server {
 public:
  explicit fake_dns_server(asio::io_context& io) : state_(std::make_shared<state>(io)) {
    state_->receive();
  }
  ~fake_dns_server() {
    state_->stopped = true;
    boost::system::error_code ignored;
    state_->socket.close(ignored);
  }
  fake_dns_server(const fake_dns_server&) = delete;
  fake_dns_server& operator=(const fake_dns_server&) = delete;

  std::string address() const {
    return "127.0.0.1:" + std::to_string(state_->socket.local_endpoint().port());
  }
  int queries() const { return state_->queries; }

 private:
  // Shared with the pending receive, whose completion may already be queued when we go.
  struct state : std::enable_shared_from_this<state> {
    explicit state(asio::io_context& io)
        : socket(io, udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0)) {
      // Bursts of a thousand queries must not be dropped by a small default buffer.
      boost::system::error_code ignored;
      socket.set_option(asio::socket_base::receive_buffer_size(4 << 20), ignored);
    }

    void receive() {
      socket.async_receive_from(asio::buffer(query), sender,
                                [self = shared_from_this()](boost::system::error_code ec,
                                                            std::size_t size) {
                                  if (ec || self->stopped) return;
                                  self->answer(size);
                                  self->receive();
                                });
    }

    void answer(std::size_t size) {
      if (size < 12) return;
      ++queries;
      std::size_t pos = 12;
      std::string first_label;
      while (pos < size && query[pos] != 0) {
        const std::size_t length = query[pos];
        if ((length & 0xc0) != 0 || pos + 1 + length > size) return;
        if (first_label.empty()) {
          first_label.assign(reinterpret_cast<const char*>(&query[pos + 1]), length);
          for (char& c : first_label) c = static_cast<char>(std::tolower(c));
        }
        pos += 1 + length;
      }
      if (pos + 5 > size) return;
      const int qtype = query[pos + 1] << 8 | query[pos + 2];
      const std::size_t question_end = pos + 5;

      const auto starts_with = [&](std::string_view prefix) {
        return std::string_view(first_label).substr(0, prefix.size()) == prefix;
      };
      if (starts_with("silent")) return;

      std::vector<unsigned char> reply(query.begin(), query.begin() + question_end);
      const bool nxdomain = starts_with("nx");
      reply[2] = static_cast<unsigned char>(0x84 | (query[2] & 0x01));  // QR, AA, RD as asked
      reply[3] = nxdomain ? 0x83 : 0x80;                                 // RA, rcode
      reply[6] = reply[7] = reply[8] = reply[9] = reply[10] = reply[11] = 0;
      const auto add_answer = [&](int type, std::vector<unsigned char> rdata) {
        const unsigned char header[] = {0xc0, 0x0c,  // name: pointer to the question
                                        0, static_cast<unsigned char>(type), 0, 1, 0, 0, 0, 60,
                                        0, static_cast<unsigned char>(rdata.size())};
        reply.insert(reply.end(), std::begin(header), std::end(header));
        reply.insert(reply.end(), rdata.begin(), rdata.end());
        ++reply[7];
      };
      if (!nxdomain && !starts_with("empty")) {
        if (qtype == 1) add_answer(1, {127, 0, 0, 7});
        if (qtype == 28 && starts_with("dual")) {
          std::vector<unsigned char> loopback(16, 0);
          loopback[15] = 1;
          add_answer(28, loopback);
        }
      }
      boost::system::error_code ignored;
      socket.send_to(asio::buffer(reply), sender, 0, ignored);
    }

    udp::socket socket;
    std::array<unsigned char, 512> query{};
    udp::endpoint sender;
    int queries = 0;
    bool stopped = false;
  };

  std::shared_ptr<state> state_;
};

// A loopback UDP port with nobody behind it: queries sent there are refused.
std::string closed_loopback_port(asio::io_context& io) {
  udp::socket probe(io, udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  return "127.0.0.1:" + std::to_string(probe.local_endpoint().port());
}

struct outcome {
  std::optional<resolve_result> result;
  steady_clock::duration elapsed{};
  std::string exception;
};

std::shared_ptr<outcome> spawn_resolve(asio::io_context& io, dns_resolver& resolver,
                                       std::string host, steady_clock::duration budget,
                                       asio::cancellation_slot slot = {}) {
  auto out = std::make_shared<outcome>();
  const auto start = steady_clock::now();
  asio::co_spawn(io, resolver.resolve(std::move(host), 25, start + budget),
                 asio::bind_cancellation_slot(
                     slot, [out, start](std::exception_ptr e, resolve_result r) {
                       out->elapsed = steady_clock::now() - start;
                       if (e) {
                         try {
                           std::rethrow_exception(e);
                         } catch (const std::exception& ex) {
                           out->exception = ex.what();
                         }
                         return;
                       }
                       out->result = std::move(r);
                     }));
  return out;
}

// The fake server keeps the io_context busy forever, so run() would not return.
template <typename Predicate>
bool run_until(asio::io_context& io, Predicate done, steady_clock::duration limit = 10s) {
  const auto end = steady_clock::now() + limit;
  while (!done()) {
    if (steady_clock::now() > end) return false;
    if (io.stopped()) io.restart();
    io.run_one_for(10ms);
  }
  return true;
}

void run_for(asio::io_context& io, steady_clock::duration d) {
  if (io.stopped()) io.restart();
  io.run_for(d);
}

resolve_result resolve_now(asio::io_context& io, dns_resolver& resolver, std::string host,
                           steady_clock::duration budget = 5s) {
  const auto out = spawn_resolve(io, resolver, std::move(host), budget);
  EXPECT_TRUE(run_until(io, [&] { return out->result || !out->exception.empty(); }));
  EXPECT_EQ(out->exception, "");
  return out->result.value_or(resolve_result{});
}

dns_resolver_options fake_server_options(const std::string& server) {
  dns_resolver_options options;
  options.servers = {server};
  options.attempt_timeout = 2s;
  options.tries = 2;
  return options;
}

TEST(dns_resolver, numeric_ipv4_without_a_query) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  const auto r = resolve_now(io, resolver, "127.0.0.1");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.endpoints,
            std::vector{asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 25)});
  EXPECT_EQ(r.error, "");
  // c-ares 1.18 alone would ask the server for "127.0.0.1".
  EXPECT_EQ(server.queries(), 0);
}

TEST(dns_resolver, numeric_ipv6_without_a_query) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  const auto r = resolve_now(io, resolver, "::1");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.endpoints, std::vector{asio::ip::tcp::endpoint(asio::ip::make_address("::1"), 25)});
  EXPECT_EQ(server.queries(), 0);
}

TEST(dns_resolver, numeric_with_the_system_configuration) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  const auto r = resolve_now(io, resolver, "127.0.0.1");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.endpoints.size(), 1u);
}

TEST(dns_resolver, localhost_comes_from_the_hosts_file_not_dns) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  const auto r = resolve_now(io, resolver, "localhost");
  ASSERT_TRUE(r.ok()) << r.error;
  for (const auto& endpoint : r.endpoints) {
    EXPECT_TRUE(endpoint.address().is_loopback()) << endpoint;
    EXPECT_EQ(endpoint.port(), 25);
  }
  EXPECT_EQ(server.queries(), 0);

  dns_resolver system_resolver(io.get_executor());
  EXPECT_TRUE(resolve_now(io, system_resolver, "localhost").ok());
}

TEST(dns_resolver, invalid_names_are_not_found_without_a_query) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  for (const char* name :
       {"no-such-host.invalid", "NO-SUCH-HOST.INVALID.", "invalid", "a.b.Invalid"}) {
    const auto r = resolve_now(io, resolver, name);
    EXPECT_EQ(r.outcome, status::not_found) << name;
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.error, "");
  }
  EXPECT_EQ(server.queries(), 0);

  // Only the label "invalid" is reserved, not a name that merely ends in the same letters.
  EXPECT_TRUE(resolve_now(io, resolver, "notinvalid").ok());
  EXPECT_GT(server.queries(), 0);
}

TEST(dns_resolver, invalid_name_with_the_system_configuration) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  const auto start = steady_clock::now();
  const auto r = resolve_now(io, resolver, "smtp-exporter-test.invalid", 200ms);
  EXPECT_TRUE(r.outcome == status::not_found || r.outcome == status::failure ||
              r.outcome == status::timeout);
  EXPECT_LT(steady_clock::now() - start, 1s);
}

TEST(dns_resolver, empty_host_fails) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  const auto r = resolve_now(io, resolver, "");
  EXPECT_EQ(r.outcome, status::failure);
  EXPECT_EQ(r.error, "invalid host name");
}

TEST(dns_resolver, answers_from_a_dns_server) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));

  auto r = resolve_now(io, resolver, "mx.example.test");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.endpoints,
            std::vector{asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.7"), 25)});

  r = resolve_now(io, resolver, "dual.example.test");
  ASSERT_TRUE(r.ok()) << r.error;
  std::vector<asio::ip::address> addresses;
  for (const auto& endpoint : r.endpoints) addresses.push_back(endpoint.address());
  std::sort(addresses.begin(), addresses.end());
  EXPECT_EQ(addresses, (std::vector{asio::ip::make_address("127.0.0.7"),
                                    asio::ip::make_address("::1")}));

  r = resolve_now(io, resolver, "nx.example.test");
  EXPECT_EQ(r.outcome, status::not_found);
  EXPECT_NE(r.error, "");

  r = resolve_now(io, resolver, "empty.example.test");
  EXPECT_EQ(r.outcome, status::not_found);
  EXPECT_NE(r.error, "");
}

TEST(dns_resolver, unreachable_server_fails_quickly) {
  asio::io_context io;
  dns_resolver_options options;
  options.servers = {closed_loopback_port(io)};
  options.attempt_timeout = 300ms;
  options.tries = 1;
  dns_resolver resolver(io.get_executor(), options);
  const auto start = steady_clock::now();
  const auto r = resolve_now(io, resolver, "mx.example.test", 5s);
  // c-ares 1.18 gives up at once on ECONNREFUSED ("Could not contact DNS servers"); the kernel
  // rate-limits the ICMP behind it, so a second run within a second may see a timeout instead.
  EXPECT_TRUE(r.outcome == status::failure || r.outcome == status::timeout) << r.error;
  EXPECT_FALSE(r.error.empty());
  EXPECT_LT(steady_clock::now() - start, 2s);
}

TEST(dns_resolver, deadline_ends_a_lookup_nobody_answers) {
  asio::io_context io;
  fake_dns_server server(io);
  auto options = fake_server_options(server.address());
  options.attempt_timeout = 5s;
  dns_resolver resolver(io.get_executor(), options);
  const auto out = spawn_resolve(io, resolver, "silent.example.test", 200ms);
  ASSERT_TRUE(run_until(io, [&] { return out->result.has_value(); }, 5s));
  EXPECT_EQ(out->result->outcome, status::timeout);
  EXPECT_FALSE(out->result->error.empty());
  EXPECT_GE(out->elapsed, 150ms);
  EXPECT_LT(out->elapsed, 1s);
  EXPECT_GT(server.queries(), 0);
}

TEST(dns_resolver, deadline_with_an_invalid_name) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  const auto out = spawn_resolve(io, resolver, "deadline.invalid", 200ms);
  ASSERT_TRUE(run_until(io, [&] { return out->result.has_value(); }, 5s));
  EXPECT_NE(out->result->outcome, status::ok);
  EXPECT_LT(out->elapsed, 1s);
}

TEST(dns_resolver, deadline_already_passed) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  const auto out = spawn_resolve(io, resolver, "silent.example.test", -1s);
  ASSERT_TRUE(run_until(io, [&] { return out->result.has_value(); }, 5s));
  EXPECT_EQ(out->result->outcome, status::timeout);
  EXPECT_LT(out->elapsed, 1s);
}

TEST(dns_resolver, c_ares_timeout_maps_to_timeout) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver_options options;
  options.servers = {server.address()};
  options.attempt_timeout = 100ms;
  options.tries = 1;
  dns_resolver resolver(io.get_executor(), options);
  const auto out = spawn_resolve(io, resolver, "silent.example.test", 10s);
  ASSERT_TRUE(run_until(io, [&] { return out->result.has_value(); }, 10s));
  EXPECT_EQ(out->result->outcome, status::timeout);
  EXPECT_NE(out->result->error, "deadline exceeded") << "c-ares gave up before the deadline";
  EXPECT_LT(out->elapsed, 5s);
}

TEST(dns_resolver, late_answer_after_the_deadline_is_dropped_safely) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver_options options;
  options.servers = {server.address()};
  options.attempt_timeout = 300ms;
  options.tries = 1;
  dns_resolver resolver(io.get_executor(), options);
  {
    const auto out = spawn_resolve(io, resolver, "silent.example.test", 50ms);
    ASSERT_TRUE(run_until(io, [&] { return out->result.has_value(); }, 5s));
    EXPECT_EQ(out->result->outcome, status::timeout);
  }
  // The coroutine is gone; c-ares now times the query out and calls back into freed nothing.
  run_for(io, 600ms);
  const auto r = resolve_now(io, resolver, "mx.example.test");
  EXPECT_TRUE(r.ok()) << r.error;
}

TEST(dns_resolver, cancellation_through_a_signal) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  asio::cancellation_signal signal;
  const auto out = spawn_resolve(io, resolver, "silent.example.test", 10s, signal.slot());
  ASSERT_TRUE(run_until(io, [&] { return server.queries() > 0; }, 5s));  // in flight
  run_for(io, 20ms);
  ASSERT_FALSE(out->result.has_value());
  signal.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until(io, [&] { return out->result.has_value(); }, 2s));
  EXPECT_EQ(out->result->outcome, status::failure);
  EXPECT_EQ(out->result->error, "cancelled");
  EXPECT_LT(out->elapsed, 1s);
}

TEST(dns_resolver, cancellation_by_an_awaitable_operator) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  std::optional<std::size_t> winner;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 50ms);
        const auto race =
            co_await (resolver.resolve("silent.example.test", 25, steady_clock::now() + 10s) ||
                      timer.async_wait(asio::use_awaitable));
        winner = race.index();
      },
      asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return winner.has_value(); }, 2s));
  EXPECT_EQ(*winner, 1u);

  // And the other way round: the lookup wins and the timer is the one cancelled.
  winner.reset();
  resolve_result result;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor, 10s);
        auto race = co_await (resolver.resolve("mx.example.test", 25, steady_clock::now() + 5s) ||
                              timer.async_wait(asio::use_awaitable));
        winner = race.index();
        if (race.index() == 0) result = std::get<0>(std::move(race));
      },
      asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return winner.has_value(); }, 5s));
  EXPECT_EQ(*winner, 0u);
  EXPECT_TRUE(result.ok()) << result.error;
}

TEST(dns_resolver, many_concurrent_local_lookups) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  constexpr int count = 1000;
  int ok = 0;
  int done = 0;
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          std::string host = i % 2 ? "localhost" : "127.0.0.1";
          const auto r = co_await resolver.resolve(std::move(host), 25, steady_clock::now() + 10s);
          ok += r.ok();
          ++done;
        },
        asio::detached);
  }
  io.run();  // returns only once nothing is left: no timer or socket wait leaks
  EXPECT_EQ(done, count);
  EXPECT_EQ(ok, count);
}

TEST(dns_resolver, many_concurrent_dns_lookups) {
  asio::io_context io;
  fake_dns_server server(io);
  auto options = fake_server_options(server.address());
  options.attempt_timeout = 1s;
  options.tries = 3;
  dns_resolver resolver(io.get_executor(), options);
  constexpr int count = 1000;
  int ok = 0;
  int done = 0;
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          std::string host = "host-" + std::to_string(i) + ".example.test";
          const auto r = co_await resolver.resolve(std::move(host), 25, steady_clock::now() + 20s);
          ok += r.ok();
          ++done;
        },
        asio::detached);
  }
  ASSERT_TRUE(run_until(io, [&] { return done == count; }, 30s));
  EXPECT_EQ(ok, count);
}

TEST(dns_resolver, destroying_the_resolver_completes_queries_in_flight) {
  asio::io_context io;
  auto server = std::make_unique<fake_dns_server>(io);
  auto resolver = std::make_unique<dns_resolver>(
      io.get_executor(), fake_server_options(server->address()));
  constexpr int count = 20;
  bool destroying = false;
  int done = 0;
  int failed = 0;
  int resumed_inside_destructor = 0;
  int started = 0;
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          ++started;
          // A local, not a temporary in the co_await expression: GCC 12 miscompiles a
          // conditional-operator temporary there (a bad free under ASan).
          std::string host = i % 4 ? "silent-" + std::to_string(i) + ".example.test" : "127.0.0.1";
          const auto r = co_await resolver->resolve(std::move(host), 25, steady_clock::now() + 10s);
          resumed_inside_destructor += destroying;
          failed += r.outcome == status::failure;
          ++done;
        },
        asio::detached);
  }
  // Wait until every query is in flight (a coroutine that first ran after the reset would
  // dereference the null resolver) and the numeric ones are done.
  ASSERT_TRUE(run_until(io, [&] { return started == count && done == count / 4; }, 5s));
  asio::post(io, [&] {
    destroying = true;
    resolver.reset();
    destroying = false;
  });
  ASSERT_TRUE(run_until(io, [&] { return done == count; }, 5s));
  EXPECT_EQ(resumed_inside_destructor, 0);
  EXPECT_EQ(failed, count - count / 4);

  server.reset();
  io.restart();
  io.run();  // returns once the resolver left nothing behind
}

TEST(dns_resolver, awaiting_after_the_resolver_is_gone) {
  asio::io_context io;
  auto resolver = std::make_unique<dns_resolver>(io.get_executor());
  auto lookup = resolver->resolve("127.0.0.1", 25, steady_clock::now() + 1s);
  resolver.reset();
  std::optional<resolve_result> result;
  asio::co_spawn(io, std::move(lookup), [&](std::exception_ptr, resolve_result r) { result = r; });
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome, status::failure);
  EXPECT_EQ(result->error, "resolver destroyed");
}

TEST(dns_resolver, malformed_server_is_rejected) {
  asio::io_context io;
  dns_resolver_options options;
  options.servers = {"not an address"};
  EXPECT_THROW(dns_resolver(io.get_executor(), options), std::invalid_argument);
}

// query(): the rcode comes back apart from the records.
dns_answer query_now(asio::io_context& io, dns_resolver& resolver, std::string name,
                     dns_record_type type, steady_clock::duration budget = 5s) {
  std::optional<dns_answer> out;
  asio::co_spawn(io, resolver.query(std::move(name), type, steady_clock::now() + budget),
                 [&](std::exception_ptr e, dns_answer a) {
                   if (!e) out = std::move(a);
                 });
  EXPECT_TRUE(run_until(io, [&] { return out.has_value(); }));
  return out.value_or(dns_answer{});
}

TEST(dns_resolver_query, a_records_with_ttl) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  const auto a = query_now(io, resolver, "mx.example.test", dns_record_type::a);
  EXPECT_EQ(a.outcome, dns_answer::status::ok) << a.error;
  EXPECT_EQ(a.addresses, std::vector{asio::ip::make_address("127.0.0.7")});
  EXPECT_EQ(a.ttl, 60u);
  const auto aaaa = query_now(io, resolver, "dual.example.test", dns_record_type::aaaa);
  EXPECT_EQ(aaaa.outcome, dns_answer::status::ok) << aaaa.error;
  EXPECT_EQ(aaaa.addresses, std::vector{asio::ip::make_address("::1")});
}

TEST(dns_resolver_query, nxdomain_and_nodata_are_told_apart) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  EXPECT_EQ(query_now(io, resolver, "nx.example.test", dns_record_type::a).outcome,
            dns_answer::status::nxdomain);
  EXPECT_EQ(query_now(io, resolver, "empty.example.test", dns_record_type::a).outcome,
            dns_answer::status::nodata);
  // The fake server has no TXT records: NOERROR without one.
  EXPECT_EQ(query_now(io, resolver, "mx.example.test", dns_record_type::txt).outcome,
            dns_answer::status::nodata);
  // No hosts file: "localhost" is asked of the server like any name.
  EXPECT_EQ(query_now(io, resolver, "localhost", dns_record_type::a).addresses,
            std::vector{asio::ip::make_address("127.0.0.7")});
}

TEST(dns_resolver_query, silence_is_a_timeout_and_a_closed_port_unreachable) {
  asio::io_context io;
  fake_dns_server server(io);
  dns_resolver resolver(io.get_executor(), fake_server_options(server.address()));
  const auto start = steady_clock::now();
  const auto silent = query_now(io, resolver, "silent.example.test", dns_record_type::a, 300ms);
  EXPECT_EQ(silent.outcome, dns_answer::status::timeout) << silent.error;
  EXPECT_GE(steady_clock::now() - start, 250ms);

  dns_resolver_options options = fake_server_options(closed_loopback_port(io));
  options.final_error_answers = true;
  dns_resolver closed(io.get_executor(), options);
  EXPECT_EQ(query_now(io, closed, "mx.example.test", dns_record_type::a).outcome,
            dns_answer::status::unreachable);
}

TEST(dns_resolver_query, awaiting_after_the_resolver_is_gone) {
  asio::io_context io;
  auto resolver = std::make_unique<dns_resolver>(io.get_executor());
  auto lookup = resolver->query("x.test", dns_record_type::a, steady_clock::now() + 1s);
  resolver.reset();
  std::optional<dns_answer> result;
  asio::co_spawn(io, std::move(lookup), [&](std::exception_ptr, dns_answer a) { result = a; });
  io.run();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->outcome, dns_answer::status::failure);
  EXPECT_EQ(result->error, "resolver destroyed");
}

}  // namespace
}  // namespace smtp_exporter::probes
