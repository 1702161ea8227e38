// The byte pipe under an SMTP session: a TCP socket, optionally wrapped in TLS mid-session
// (STARTTLS) or from the start (implicit TLS), with a buffered reply reader.
//
// A session-wide deadline is enforced by a watchdog that closes the socket: that aborts whatever
// operation is pending on the TCP socket or the TLS stream above it, and works the same for both.
//
// Thread-safety: none; one connection per session, used from one executor.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/compose.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "probes/core/icmp.hpp"
#include "probes/smtp/reply.hpp"
#include "probes/tls/facts.hpp"

namespace smtp_exporter::probes {

// The TCP socket as the session (and TLS above it) writes to it: after every write that
// completes, quick ACKs are re-armed (TCP_QUICKACK), so whatever the server sends next is
// acknowledged at once instead of after Linux's 40 ms delayed-ACK timer.
//
// Why: the phase timings must be the server's latency, not a TCP artefact. Servers such as
// postfix keep Nagle's algorithm on. After a TLS 1.3 handshake the server sends its session
// tickets right after our Finished; our next write (the EHLO after STARTTLS) left before they
// arrived, so nothing carries their ACK, and the server's Nagle holds its small EHLO reply (with
// implicit TLS: its greeting; with TLS 1.2 and implicit TLS: the greeting behind the server's
// Finished) until our delayed ACK fires ~40 ms later. Linux delays that ACK because a write made
// soon after a read puts the socket in "interactive" (pingpong) mode; TCP_QUICKACK takes it out
// of that mode only until the next such write, so it must be set again after each write (set
// before the write, as a client might try, it is undone by the write itself). TCP_NODELAY stays
// on (session.cpp): with Nagle on our side, our EHLO would wait for the ACK of our Finished, and
// a server that sends no tickets delays that ACK by the same 40 ms. Server-side delays, and TLS
// 1.2 STARTTLS (the server's last flight arrives before our EHLO, which carries its ACK), are
// unaffected. The cost is one setsockopt per write and a bare ACK per server reply.
class quick_ack_stream {
 public:
  using lowest_layer_type = boost::asio::ip::tcp::socket::lowest_layer_type;
  using executor_type = boost::asio::ip::tcp::socket::executor_type;

  explicit quick_ack_stream(boost::asio::ip::tcp::socket& socket) : socket_(socket) {}

  executor_type get_executor() { return socket_.get_executor(); }
  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return socket_.lowest_layer(); }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return socket_.async_read_some(buffers, std::forward<Token>(token));
  }

  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return boost::asio::async_compose<Token, void(boost::system::error_code, std::size_t)>(
        [this, buffers, started = false](auto& self, boost::system::error_code ec = {},
                                         std::size_t n = 0) mutable {
          if (!started) {
            started = true;
            socket_.async_write_some(buffers, std::move(self));
            return;
          }
          if (!ec) rearm_quick_ack();
          self.complete(ec, n);
        },
        token, socket_);
  }

  void rearm_quick_ack();

 private:
  boost::asio::ip::tcp::socket& socket_;
};

class smtp_connection : public std::enable_shared_from_this<smtp_connection> {
 public:
  using clock = std::chrono::steady_clock;

  explicit smtp_connection(boost::asio::any_io_executor executor);
  ~smtp_connection();

  // Arms the watchdog: at `deadline` the socket is closed and pending operations fail.
  void set_deadline(clock::time_point deadline);
  bool deadline_expired() const { return expired_; }

  // Connects to the first of `endpoints` that accepts, in order, each on a fresh socket; sets
  // `connected`. Until the connection is made the socket asks the kernel for ICMP errors
  // (IP_RECVERR, IPV6_RECVERR): the one behind the last failure is last_icmp(). Off again once
  // connected, so that a stray ICMP message cannot end a session that works.
  boost::asio::awaitable<boost::system::error_code> connect(
      const std::vector<boost::asio::ip::tcp::endpoint>& endpoints,
      boost::asio::ip::tcp::endpoint& connected);
  const icmp_report& last_icmp() const { return icmp_; }

  boost::asio::ip::tcp::socket& socket() { return socket_; }
  bool tls_active() const { return tls_ != nullptr; }
  SSL* tls_handle();  // nullptr before the handshake

  // TLS client handshake on the connected socket. Verification is recorded, not enforced: the
  // verify callback records every error (tls_verify_errors()), so certificate facts survive a
  // failed verification and the caller decides the reason.
  boost::asio::awaitable<boost::system::error_code> handshake(boost::asio::ssl::context& context,
                                                              const std::string& server_name,
                                                              int min_tls_version);

  // Reads one complete reply. Errors: asio::error::eof (peer closed), operation_aborted (deadline),
  // `protocol_error` below (malformed reply; parse_error() says why).
  boost::asio::awaitable<boost::system::error_code> read_reply(smtp_reply& reply);
  // Writes `line` followed by CRLF.
  boost::asio::awaitable<boost::system::error_code> write_line(std::string_view line);

  const std::string& parse_error() const { return parser_.error(); }
  // Every certificate verification error of the handshake (recorded, never enforced here).
  const verify_errors& tls_verify_errors() const { return verify_errors_; }
  void close();

  static const boost::system::error_code protocol_error;

 private:
  boost::asio::awaitable<std::size_t> read_some(boost::system::error_code& ec);

  boost::asio::ip::tcp::socket socket_;
  quick_ack_stream stream_{socket_};
  std::unique_ptr<boost::asio::ssl::stream<quick_ack_stream>> tls_;
  boost::asio::steady_timer watchdog_;
  bool expired_ = false;
  verify_errors verify_errors_;
  icmp_report icmp_;
  reply_parser parser_;
  std::array<char, 4096> buffer_{};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace smtp_exporter::probes
