// The session against in-process loopback peers built from Asio: deadlines and stage ordering.
// (End-to-end behaviour against real servers lives in tests/integration.)
#include "probes/smtp/session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace smtp_exporter::probes {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace std::chrono_literals;

// Accepts connections and does whatever `on_accept` says with each socket.
class loopback_peer {
 public:
  explicit loopback_peer(asio::io_context& io)
      : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    accept();
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::function<void(std::shared_ptr<tcp::socket>)> on_accept = [](auto) {};
  // Writes `script` to every connection at once (the replies a test wants, pipelined), then
  // leaves it open.
  void say(std::string text) {
    on_accept = [script = std::make_shared<const std::string>(std::move(text))](
                    std::shared_ptr<tcp::socket> s) {
      asio::async_write(*s, asio::buffer(*script), [s, script](auto, auto) {});
    };
  }

 private:
  void accept() {
    acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (ec) return;
      auto sock = std::make_shared<tcp::socket>(std::move(s));
      held_.push_back(sock);
      on_accept(sock);
      accept();
    });
  }
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<tcp::socket>> held_;
};

session_result run(asio::io_context& io, dns_resolver& resolver, const session_options& o) {
  auto future = asio::co_spawn(io, run_session(o, resolver), asio::use_future);
  // The peer's acceptor keeps the loop busy forever: run until the session is done (10 s cap).
  auto give_up = std::chrono::steady_clock::now() + 10s;
  while (future.wait_for(0s) != std::future_status::ready &&
         std::chrono::steady_clock::now() < give_up) {
    io.run_one_for(50ms);
  }
  EXPECT_EQ(future.wait_for(0s), std::future_status::ready);
  return future.get();
}

session_options options_for(std::uint16_t port, std::chrono::milliseconds timeout) {
  session_options o;
  o.host = "127.0.0.1";
  o.port = port;
  o.mode = transport::plain;
  o.timeout = timeout;
  o.due = {true, false, false};
  return o;
}

TEST(session, tarpit_ends_at_the_deadline_as_banner_timeout) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  loopback_peer peer(io);  // accepts, never greets
  auto r = run(io, resolver, options_for(peer.port(), 300ms));
  EXPECT_EQ(r.outcome(probe_kind::banner).reason, failure_reason::banner_timeout);
  EXPECT_GE(r.total_seconds, 0.29);
  EXPECT_LT(r.total_seconds, 2.0);
}

TEST(session, greeting_in_pieces_then_ehlo_success) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  loopback_peer peer(io);
  peer.say(
      "220-mx.test first\r\n220 mx.test ready\r\n"
      "250-mx.test\n250-PIPELINING\n250-AUTH PLAIN LOGIN\n250 STARTTLS\n221 bye\r\n");
  auto o = options_for(peer.port(), 2s);
  auto r = run(io, resolver, o);
  EXPECT_EQ(r.outcome(probe_kind::banner).reason, failure_reason::none) << r.detail;
  EXPECT_EQ(r.outcome(probe_kind::banner).reply_code, 220);
  EXPECT_TRUE(r.ehlo.has(extension::starttls));  // on the last line
  EXPECT_TRUE(r.ehlo.has(auth_mechanism::login));
  EXPECT_EQ(r.greeting, "mx.test first");
  EXPECT_FALSE(r.outcome(probe_kind::tls).ran);
}

TEST(session, tls_probe_on_plain_greeting_failure_carries_the_same_reason) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  loopback_peer peer(io);
  peer.say("554 5.7.1 blocked\r\n");
  auto o = options_for(peer.port(), 2s);
  o.mode = transport::starttls;
  o.due = {true, true, false};
  auto r = run(io, resolver, o);
  EXPECT_EQ(r.outcome(probe_kind::banner).reason, failure_reason::banner_rejected);
  EXPECT_EQ(r.outcome(probe_kind::tls).reason, failure_reason::banner_rejected);
  EXPECT_EQ(r.outcome(probe_kind::tls).reply_code, 554);
}

// A "220-" preamble ended by a 554: the refusal's own text decides the detail, however long the
// preamble before it (MTAs greet with several lines of notices, then refuse a blocklisted client).
TEST(session, greeting_preamble_then_554_detail_names_the_refusal) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  loopback_peer peer(io);
  peer.say(
      "220-mx.test ESMTP service ready; unsolicited bulk mail is prohibited here\r\n"
      "220-all traffic is logged and monitored; see https://mx.test/policy for details\r\n"
      "554 5.7.1 client host [127.0.0.1] blocked using zen.spamhaus.org\r\n");
  auto r = run(io, resolver, options_for(peer.port(), 2s));
  EXPECT_EQ(r.outcome(probe_kind::banner).reason, failure_reason::banner_rejected);
  EXPECT_EQ(r.outcome(probe_kind::banner).reply_code, 554);
  EXPECT_NE(r.detail.find("blocked using zen.spamhaus.org"), std::string::npos) << r.detail;
}

TEST(session, starttls_not_advertised) {
  asio::io_context io;
  dns_resolver resolver(io.get_executor());
  loopback_peer peer(io);
  peer.say("220 mx\r\n250-mx\r\n250 SIZE 100\r\n221 bye\r\n");
  auto o = options_for(peer.port(), 2s);
  o.mode = transport::starttls;
  o.due = {true, true, false};
  auto r = run(io, resolver, o);
  EXPECT_EQ(r.outcome(probe_kind::banner).reason, failure_reason::none);
  EXPECT_EQ(r.outcome(probe_kind::tls).reason, failure_reason::starttls_unsupported);
  EXPECT_EQ(r.ehlo.size_limit, 100u);
}

}  // namespace
}  // namespace smtp_exporter::probes
