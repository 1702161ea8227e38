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

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

#include "probes/smtp_reply.hpp"
#include "probes/tls_facts.hpp"

namespace smtp_exporter::probes {

class smtp_connection : public std::enable_shared_from_this<smtp_connection> {
 public:
  using clock = std::chrono::steady_clock;

  explicit smtp_connection(boost::asio::any_io_executor executor);
  ~smtp_connection();

  // Arms the watchdog: at `deadline` the socket is closed and pending operations fail.
  void set_deadline(clock::time_point deadline);
  bool deadline_expired() const { return expired_; }

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
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer watchdog_;
  bool expired_ = false;
  verify_errors verify_errors_;
  reply_parser parser_;
  std::array<char, 4096> buffer_{};
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
};

}  // namespace smtp_exporter::probes
