// The exporter's HTTP endpoint on Boost.Beast: one coroutine per connection on the shared
// executor, per-request deadlines and size limits, and a route table supplied by the caller.
//
// Thread-safety: start() and stop() on the server's executor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

namespace smtp_exporter::exporter {

using http_request = boost::beast::http::request<boost::beast::http::string_body>;
using http_response = boost::beast::http::response<boost::beast::http::string_body>;
using http_handler = std::function<boost::asio::awaitable<http_response>(const http_request&)>;

// "host:port", "[v6]:port" or ":port" (every address). Returns false with `error` set.
bool parse_listen_address(const std::string& text, boost::asio::ip::tcp::endpoint& endpoint,
                          std::string& error);

class http_server {
 public:
  struct limits {
    std::size_t max_connections = 256;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    std::chrono::seconds request_timeout{30};
  };

  http_server(boost::asio::any_io_executor executor, http_handler handler, limits l);
  http_server(boost::asio::any_io_executor executor, http_handler handler)
      : http_server(std::move(executor), std::move(handler), limits{}) {}

  // Binds and listens; returns false with `error` set (e.g. address in use).
  bool listen(const boost::asio::ip::tcp::endpoint& endpoint, std::string& error);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void start();
  void stop();

 private:
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);

  boost::asio::any_io_executor executor_;
  http_handler handler_;
  limits limits_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<std::size_t> connections_ = std::make_shared<std::size_t>(0);
};

}  // namespace smtp_exporter::exporter
