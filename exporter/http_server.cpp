#include "exporter/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "exporter/log.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using asio::ip::tcp;

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
}

bool parse_listen_address(const std::string& text, tcp::endpoint& endpoint, std::string& error) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    error = "listen address \"" + text + "\" has no port (want host:port or :port)";
    return false;
  }
  std::string host = text.substr(0, colon);
  std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  try {
    std::size_t used = 0;
    port = std::stoul(port_text, &used);
    if (used != port_text.size() || port > 65535) throw std::out_of_range("port");
  } catch (const std::exception&) {
    error = "listen address \"" + text + "\" has an invalid port";
    return false;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::ip::address address;
  if (host.empty()) {
    address = asio::ip::address_v6::any();  // dual-stack: also accepts IPv4
  } else if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else {
    error_code ec;
    address = asio::ip::make_address(host, ec);
    if (ec) {
      error = "listen address \"" + text + "\": \"" + host + "\" is not an IP address";
      return false;
    }
  }
  endpoint = tcp::endpoint(address, static_cast<std::uint16_t>(port));
  return true;
}

http_server::http_server(asio::any_io_executor executor, http_handler handler, limits l)
    : executor_(executor), handler_(std::move(handler)), limits_(l), acceptor_(executor) {}

bool http_server::listen(const tcp::endpoint& requested, std::string& error) {
  error_code ec;
  tcp::endpoint endpoint = requested;
  // ":port" means every address; on a host or pod without IPv6 that is 0.0.0.0, not a failure.
  if (endpoint.address() == asio::ip::address_v6::any()) {
    tcp::acceptor probe(acceptor_.get_executor());
    error_code v6_ec;
    probe.open(tcp::v6(), v6_ec);
    if (v6_ec) endpoint = tcp::endpoint(asio::ip::address_v4::any(), endpoint.port());
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) {
    acceptor_.set_option(asio::ip::v6_only(false), ec);
  }
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + endpoint.address().to_string() + ":" +
            std::to_string(endpoint.port()) + ": " + ec.message();
    error_code ignored;
    acceptor_.close(ignored);
    return false;
  }
  return true;
}

tcp::endpoint http_server::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

void http_server::start() { asio::co_spawn(executor_, accept_loop(), asio::detached); }

void http_server::stop() {
  error_code ignored;
  acceptor_.close(ignored);
}

asio::awaitable<void> http_server::accept_loop() {
  while (acceptor_.is_open()) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      log::warn("accept failed", {{"err", ec.message()}});
      asio::steady_timer pause(executor_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    if (*connections_ >= limits_.max_connections) {
      error_code ignored;
      socket.close(ignored);
      continue;
    }
    asio::co_spawn(executor_, serve(std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> http_server::serve(tcp::socket socket) {
  auto counter = connections_;
  ++*counter;
  struct release {
    std::shared_ptr<std::size_t> c;
    ~release() { --*c; }
  } guard{counter};

  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser.body_limit(limits_.max_body_bytes);
    stream.expires_after(limits_.request_timeout);
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
    if (ec) {
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::eof) {
        break;
      }
      // A malformed or oversized request gets a clear answer, then the connection closes.
      http_response bad{ec == http::error::header_limit || ec == http::error::body_limit
                            ? http::status::payload_too_large
                            : http::status::bad_request,
                        11};
      bad.set(http::field::content_type, "text/plain; charset=utf-8");
      bad.set(http::field::connection, "close");
      bad.body() = "bad request: " + ec.message() + "\n";
      bad.prepare_payload();
      stream.expires_after(std::chrono::seconds(5));
      co_await http::async_write(stream, bad, use_nothrow);
      break;
    }
    auto request = parser.release();
    http_response response;
    try {
      response = co_await handler_(request);
    } catch (const std::exception& e) {
      log::error("http handler failed", {{"path", request.target()}, {"err", e.what()}});
      response = http_response{http::status::internal_server_error, request.version()};
      response.set(http::field::content_type, "text/plain; charset=utf-8");
      response.body() = "internal error\n";
    }
    response.version(request.version());
    response.keep_alive(request.keep_alive());
    response.prepare_payload();
    stream.expires_after(limits_.request_timeout);
    error_code wec;
    if (request.method() == http::verb::head) {
      // HEAD: the headers (with the Content-Length a GET would have), never the body, or a
      // keep-alive client would read the body as the start of the next response.
      http::response_serializer<http::string_body> serializer{response};
      std::tie(wec, std::ignore) = co_await http::async_write_header(stream, serializer, use_nothrow);
    } else {
      std::tie(wec, std::ignore) = co_await http::async_write(stream, response, use_nothrow);
    }
    if (wec || !response.keep_alive()) break;
  }
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

}  // namespace smtp_exporter::exporter
