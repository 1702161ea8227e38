// session_options::address_allowed: the session connects only to resolved addresses it allows
// (what keeps /probe's allowed_cidrs true under DNS rebinding).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include "probes/smtp/session.hpp"

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

struct filter_case {
  const char* name;
  std::function<bool(const asio::ip::address&)> allowed;
  failure_reason reason;
  std::size_t connections;
};

TEST(session_address_filter, connects_only_to_allowed_addresses) {
  const filter_case cases[] = {
      {"nothing allowed", [](const asio::ip::address&) { return false; },
       failure_reason::resolve_failed, 0},
      // localhost is 127.0.0.1 from /etc/hosts, plus ::1 with c-ares 1.23 and later (RFC 6761,
      // Debian 13), whatever /etc/hosts says: every address of it is a loopback one.
      {"no loopback", [](const asio::ip::address& a) { return !a.is_loopback(); },
       failure_reason::resolve_failed, 0},
      {"127.0.0.1", [](const asio::ip::address& a) { return a.to_string() == "127.0.0.1"; },
       failure_reason::banner_timeout, 1},
  };
  for (const auto& c : cases) {
    asio::io_context io;
    dns_resolver resolver(io.get_executor());
    // A tarpit: accepts (and counts) connections, never greets.
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    std::size_t accepted = 0;
    std::vector<tcp::socket> held;
    std::function<void()> accept = [&] {
      acceptor.async_accept([&](boost::system::error_code ec, tcp::socket s) {
        if (ec) return;
        ++accepted;
        held.push_back(std::move(s));
        accept();
      });
    };
    accept();

    session_options o;
    o.host = "localhost";  // from /etc/hosts: no DNS query leaves the machine
    o.port = acceptor.local_endpoint().port();
    o.mode = transport::plain;
    o.timeout = 300ms;
    o.due = {true, false, false};
    o.address_allowed = c.allowed;
    auto future = asio::co_spawn(io, run_session(o, resolver), asio::use_future);
    auto give_up = std::chrono::steady_clock::now() + 10s;
    while (future.wait_for(0s) != std::future_status::ready &&
           std::chrono::steady_clock::now() < give_up) {
      io.run_one_for(50ms);
    }
    ASSERT_EQ(future.wait_for(0s), std::future_status::ready) << c.name;
    auto r = future.get();
    EXPECT_EQ(r.outcome(probe_kind::banner).reason, c.reason) << c.name << ": " << r.detail;
    EXPECT_EQ(accepted, c.connections) << c.name;
    if (c.reason == failure_reason::resolve_failed) {
      EXPECT_EQ(r.detail, "resolve: no address for localhost (no address the allow-list permits)")
          << c.name;
    }
  }
}

}  // namespace
}  // namespace smtp_exporter::probes
