#include "probes/smtp/connection.hpp"

#include "common/secret.hpp"

#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <arpa/inet.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

namespace smtp_exporter::probes {

namespace asio = boost::asio;
using boost::system::error_code;

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

struct protocol_category : boost::system::error_category {
  const char* name() const noexcept override { return "smtp"; }
  std::string message(int) const override { return "malformed SMTP reply"; }
};
const protocol_category protocol_category_instance;
// Asks for (or stops asking for) the ICMP errors of `fd`'s connection attempts.
void set_icmp_reports(int fd, bool v6, bool on) {
  const int value = on ? 1 : 0;
  // Best effort: without them a failure keeps its errno's reading.
  if (v6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &value, sizeof value);
  } else {
    ::setsockopt(fd, IPPROTO_IP, IP_RECVERR, &value, sizeof value);
  }
}

// The last ICMP error queued on `fd` (MSG_ERRQUEUE never blocks with MSG_DONTWAIT); a report
// without family when there is none.
icmp_report read_icmp_report(int fd) {
  icmp_report out;
  // A bounded drain: a connect attempt queues one error, a retried SYN perhaps a few.
  for (int i = 0; i < 8; ++i) {
    char data[64];
    alignas(cmsghdr) char control[512];
    iovec iov{data, sizeof data};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    if (::recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      const bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
      const bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6) continue;
      sock_extended_err ee{};
      if (c->cmsg_len < CMSG_LEN(sizeof ee)) continue;
      std::memcpy(&ee, CMSG_DATA(c), sizeof ee);
      if (ee.ee_origin != SO_EE_ORIGIN_ICMP && ee.ee_origin != SO_EE_ORIGIN_ICMP6) continue;
      icmp_report r;
      r.family = ee.ee_origin == SO_EE_ORIGIN_ICMP6 ? 6 : 4;
      r.type = ee.ee_type;
      r.code = ee.ee_code;
      // The offender (who sent the message) follows the structure, as a sockaddr.
      const std::size_t room = c->cmsg_len - CMSG_LEN(sizeof ee);
      const auto* offender = CMSG_DATA(c) + sizeof ee;
      char text[INET6_ADDRSTRLEN] = {};
      sa_family_t family = AF_UNSPEC;
      if (room >= sizeof(sa_family_t)) std::memcpy(&family, offender, sizeof family);
      if (family == AF_INET && room >= sizeof(sockaddr_in)) {
        sockaddr_in sin{};
        std::memcpy(&sin, offender, sizeof sin);
        if (::inet_ntop(AF_INET, &sin.sin_addr, text, sizeof text)) r.sender = text;
      } else if (family == AF_INET6 && room >= sizeof(sockaddr_in6)) {
        sockaddr_in6 sin6{};
        std::memcpy(&sin6, offender, sizeof sin6);
        if (::inet_ntop(AF_INET6, &sin6.sin6_addr, text, sizeof text)) r.sender = text;
      }
      out = std::move(r);
    }
  }
  return out;
}

}  // namespace

const error_code smtp_connection::protocol_error{1, protocol_category_instance};

void quick_ack_stream::rearm_quick_ack() {
  // Best effort: a socket that refuses (not TCP, already closed) only loses the optimisation.
  const int on = 1;
  ::setsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

smtp_connection::smtp_connection(asio::any_io_executor executor)
    : socket_(executor), watchdog_(executor) {}

smtp_connection::~smtp_connection() = default;

void smtp_connection::set_deadline(clock::time_point deadline) {
  watchdog_.expires_at(deadline);
  // The handler owns the connection: a deadline that fires just as the session ends still finds
  // a live socket to close.
  watchdog_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec) return;  // re-armed or cancelled
    self->expired_ = true;
    error_code ignored;
    self->socket_.close(ignored);
  });
}

asio::awaitable<error_code> smtp_connection::connect(
    const std::vector<asio::ip::tcp::endpoint>& endpoints, asio::ip::tcp::endpoint& connected) {
  error_code ec = asio::error::host_not_found;
  for (const auto& endpoint : endpoints) {
    if (expired_) co_return asio::error::operation_aborted;
    error_code ignored;
    socket_.close(ignored);
    icmp_ = {};
    socket_.open(endpoint.protocol(), ec);
    if (ec) co_return ec;  // EMFILE and friends: no other address will do better
    const bool v6 = endpoint.address().is_v6();
    set_icmp_reports(socket_.native_handle(), v6, true);
    std::tie(ec) = co_await socket_.async_connect(endpoint, use_nothrow);
    if (expired_) co_return asio::error::operation_aborted;
    if (!ec) {
      // Turning the option off also empties the queue (Linux purges it): nothing queued by a
      // retried SYN is left to flag the connected socket.
      set_icmp_reports(socket_.native_handle(), v6, false);
      connected = endpoint;
      co_return ec;
    }
    icmp_ = read_icmp_report(socket_.native_handle());
  }
  co_return ec;
}

SSL* smtp_connection::tls_handle() { return tls_ ? tls_->native_handle() : nullptr; }

asio::awaitable<error_code> smtp_connection::handshake(asio::ssl::context& context,
                                                       const std::string& server_name,
                                                       int min_tls_version) {
  tls_ = std::make_unique<asio::ssl::stream<quick_ack_stream>>(stream_, context);
  SSL* ssl = tls_->native_handle();
  error_code address_ec;
  asio::ip::make_address(server_name, address_ec);
  // SNI carries host names only (RFC 6066); an IP literal is checked as an address instead.
  // Fail closed: a name OpenSSL would not take (an IPv6 literal with a zone, "fe80::1%eth0", is
  // one) would otherwise leave no name to check, and any certificate from a trusted CA would pass.
  bool name_set = false;
  if (address_ec) {
    name_set = SSL_set_tlsext_host_name(ssl, server_name.c_str()) == 1 &&
               SSL_set1_host(ssl, server_name.c_str()) == 1;
  } else {
    name_set = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str()) == 1;
  }
  if (min_tls_version != 0) SSL_set_min_proto_version(ssl, min_tls_version);
  prepare_tls_client(ssl, &verify_errors_);
  if (!name_set) {
    verify_errors_.codes.push_back(address_ec ? X509_V_ERR_HOSTNAME_MISMATCH
                                              : X509_V_ERR_IP_ADDRESS_MISMATCH);
  }
  // Bytes already buffered after STARTTLS's reply would be plaintext injected before TLS: the
  // classic STARTTLS command-injection; discard them.
  begin_ = end_ = 0;
  auto [ec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, use_nothrow);
  co_return ec;
}

asio::awaitable<std::size_t> smtp_connection::read_some(error_code& ec) {
  std::size_t n = 0;
  if (tls_) {
    std::tie(ec, n) = co_await tls_->async_read_some(asio::buffer(buffer_), use_nothrow);
  } else {
    std::tie(ec, n) = co_await socket_.async_read_some(asio::buffer(buffer_), use_nothrow);
  }
  co_return n;
}

asio::awaitable<error_code> smtp_connection::read_reply(smtp_reply& reply) {
  parser_.reset();
  for (;;) {
    if (begin_ < end_) {
      std::size_t consumed = 0;
      auto status = parser_.parse(buffer_.data() + begin_, end_ - begin_, consumed);
      begin_ += consumed;
      if (status == reply_parser::status::good) {
        reply = parser_.take_reply();
        co_return error_code{};
      }
      if (status == reply_parser::status::bad) co_return protocol_error;
    }
    error_code ec;
    std::size_t n = co_await read_some(ec);
    if (expired_) co_return asio::error::operation_aborted;
    if (ec) {
      // A TLS peer that vanishes without close_notify is, for SMTP, just a closed connection.
      if (ec == asio::ssl::error::stream_truncated) ec = asio::error::eof;
      co_return ec;
    }
    begin_ = 0;
    end_ = n;
  }
}

asio::awaitable<error_code> smtp_connection::write_line(std::string_view line) {
  std::string data;
  data.reserve(line.size() + 2);
  data.append(line).append("\r\n");
  error_code ec;
  if (tls_) {
    std::tie(ec, std::ignore) = co_await asio::async_write(*tls_, asio::buffer(data), use_nothrow);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(stream_, asio::buffer(data), use_nothrow);
  }
  // AUTH lines carry the secret (or its base64): wipe this copy like every other.
  cleanse(data);
  if (expired_) co_return asio::error::operation_aborted;
  co_return ec;
}

void smtp_connection::close() {
  watchdog_.cancel();
  error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

}  // namespace smtp_exporter::probes
