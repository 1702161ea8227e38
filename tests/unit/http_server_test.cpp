// http_server in process: the listener never ends silently.
#include "exporter/web/http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include "exporter/web/cross_site.hpp"

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using namespace std::chrono_literals;

http_handler ok_handler() {
  return [](const http_request&) -> asio::awaitable<http_response> {
    co_return http_response{http::status::ok, 11};
  };
}

// Found in review: accept_loop was spawned detached, so an exception or a broken listening
// socket ended it silently while probes went on: a process running deaf.
TEST(http_server, a_broken_listener_is_reported_not_retried_forever) {
  asio::io_context io;
  http_server server(io.get_executor(), ok_handler());
  std::string error;
  ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}, error)) << error;
  std::optional<std::string> failed;
  server.on_listener_failed([&](const std::string& why) {
    failed = why;
    io.stop();
  });
  server.start();
  io.run_for(50ms);
  ASSERT_FALSE(failed);
  // Shut down under the server's feet: accept now fails with EINVAL, which retrying cannot cure.
  ASSERT_EQ(::shutdown(server.native_listen_handle(), SHUT_RDWR), 0);
  io.restart();
  io.run_for(5s);
  ASSERT_TRUE(failed.has_value());
  EXPECT_NE(failed->find("accept"), std::string::npos) << *failed;
}

TEST(http_server, stop_is_not_a_failure) {
  asio::io_context io;
  http_server server(io.get_executor(), ok_handler());
  std::string error;
  ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}, error)) << error;
  bool failed = false;
  server.on_listener_failed([&](const std::string&) { failed = true; });
  server.start();
  io.run_for(20ms);
  server.stop();
  io.restart();
  io.run_for(200ms);
  EXPECT_FALSE(failed);
}

// A client connected to 127.0.0.1:`port`, with a receive buffer of `receive_buffer` bytes when
// not 0: a descriptor, or -1.
int connect_loopback(std::uint16_t port, int receive_buffer = 0) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (receive_buffer > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
  }
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A client with a small receive buffer that asks for "/" and never reads: a descriptor, or -1.
int ask_and_never_read(std::uint16_t port) {
  const int fd = connect_loopback(port, 4096);
  if (fd < 0) return -1;
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  if (::send(fd, request.data(), request.size(), 0) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Starts `server` on a free loopback port and opens `count` clients that ask and never read,
// one every 150 ms (each is served and written to until the kernel's buffers are full, then
// stalls). Their descriptors; fewer if one could not connect.
std::vector<int> serve_clients_that_never_read(asio::io_context& io, http_server& server,
                                               int count) {
  std::vector<int> clients;
  std::string error;
  if (!server.listen({asio::ip::make_address("127.0.0.1"), 0}, error)) return clients;
  server.start();
  for (int i = 0; i < count; ++i) {
    int fd = ask_and_never_read(server.local_endpoint().port());
    if (fd < 0) break;
    clients.push_back(fd);
    io.run_for(150ms);
  }
  return clients;
}

// Clients that ask for a large response and never read it: without a bound on the bodies held
// by responses being written, each held its own body (a /metrics render: ~35 MB at 10,000
// targets) until the write deadline, up to the connection cap. Now the stalled ones are cut off
// once the bodies held exceed limits::max_response_bytes, whatever the connection count.
TEST(http_server, responses_nobody_reads_are_cut_off_beyond_the_response_memory_bound) {
  asio::io_context io;
  int served = 0;
  constexpr std::size_t body_bytes = 12u << 20;  // more than the kernel takes of a response
  http_server::limits limits;
  limits.max_response_bytes = 2 * body_bytes;
  limits.write_stall = 50ms;
  http_server server(io.get_executor(), [&](const http_request&) -> asio::awaitable<http_response> {
    http_response r{http::status::ok, 11};
    r.body() = std::string(body_bytes, static_cast<char>('a' + served++ % 26));  // one body each
    co_return r;
  }, limits);
  constexpr int client_count = 6;
  const auto clients = serve_clients_that_never_read(io, server, client_count);
  ASSERT_EQ(clients.size(), static_cast<std::size_t>(client_count));
  io.run_for(100ms);
  EXPECT_EQ(served, client_count);
  // Every client stalled: at most the bound's worth of them (two bodies) plus the newest are held.
  EXPECT_GE(server.stats().evicted_slow_reader, static_cast<std::uint64_t>(client_count - 3));
  EXPECT_LE(server.open_connections(), 3u);
  EXPECT_EQ(server.stats().refused_full, 0u);
  for (int fd : clients) ::close(fd);
  server.stop();
  io.run_for(100ms);
}

// Responses that share one buffer (the scrapes that joined one render) count once.
TEST(http_server, a_shared_body_counts_once_against_the_response_memory_bound) {
  asio::io_context io;
  constexpr std::size_t body_bytes = 12u << 20;
  auto shared = std::make_shared<const std::string>(body_bytes, 'm');
  http_server::limits limits;
  limits.max_response_bytes = 2 * body_bytes;
  limits.write_stall = 50ms;
  http_server server(io.get_executor(), [&](const http_request&) -> asio::awaitable<http_response> {
    http_response r{http::status::ok, 11};
    r.body().share(shared);
    EXPECT_TRUE(r.body().shared());
    co_return r;
  }, limits);
  const auto clients = serve_clients_that_never_read(io, server, 6);
  ASSERT_EQ(clients.size(), 6u);
  // Six stalled responses, one 12 MiB buffer between them: within the bound, nobody is cut off.
  EXPECT_EQ(server.stats().evicted_slow_reader, 0u);
  EXPECT_EQ(server.open_connections(), 6u);
  for (int fd : clients) ::close(fd);
  server.stop();
  io.run_for(100ms);
}

// Sends `request` on a fresh loopback connection to `port` and reads until the server closes it
// (or 5 s pass, while `io` runs the server): everything the server answered.
std::string exchange(asio::io_context& io, std::uint16_t port, const std::string& request) {
  const int fd = connect_loopback(port);
  if (fd < 0) return {};
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < end) {
    io.run_for(10ms);
    char buffer[4096];
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0) break;  // closed by the server
    if (n > 0) answer.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return answer;
}

std::size_t count(const std::string& text, const std::string& part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

// Issue 24, finding 7: a request with a Transfer-Encoding other than "chunked" was read as having
// no body, so the body was taken for the next request on the connection: the ingredient of
// request smuggling behind a proxy that reads it the other way. RFC 9112 section 6.3: 400, then
// close. The handler never sees such a request, nor what followed it.
TEST(http_server, an_unknown_transfer_encoding_gets_400_and_the_connection_closes) {
  asio::io_context io;
  std::vector<std::string> seen;
  http_server server(io.get_executor(), [&](const http_request& r) -> asio::awaitable<http_response> {
    seen.push_back(std::string(r.target()) + " " + r.body());
    http_response response{http::status::ok, 11};
    response.body() = "ok\n";
    co_return response;
  });
  std::string error;
  ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}, error)) << error;
  server.start();
  const auto port = server.local_endpoint().port();
  const std::string smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const std::string encoding :
       {"gzip", "identity", "chunked, gzip", "gzip, chunked", "chunked\r\nTransfer-Encoding: gzip",
        "xchunked", "chunked;q=1", "", "chunked, chunked", "chunked\r\nContent-Length: 3"}) {
    seen.clear();
    const std::string request = "POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " +
                                encoding + "\r\n\r\n" + smuggled;
    const std::string answer = exchange(io, port, request);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 400 ")) << encoding << ":\n" << answer;
    EXPECT_EQ(count(answer, "HTTP/1.1 "), 1u) << encoding << ":\n" << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << encoding << ":\n" << answer;
    EXPECT_TRUE(seen.empty()) << encoding << ": the handler saw " << seen.front();
  }
  // HTTP/1.0 has no transfer codings (RFC 9112 6.1): the message is faulty.
  seen.clear();
  std::string answer = exchange(io, port,
                                "POST / HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                "0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.0 400 ") || answer.starts_with("HTTP/1.1 400 ")) << answer;
  EXPECT_TRUE(seen.empty());

  // Chunked alone is read as chunked: the body is the request's, the next request is served.
  seen.clear();
  answer = exchange(io, port,
                    "POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n0\r\n\r\n" + smuggled);
  EXPECT_EQ(count(answer, "HTTP/1.1 200 "), 2u) << answer;
  EXPECT_EQ(seen, (std::vector<std::string>{"/a hello", "/smuggled "}));
  server.stop();
  io.run_for(100ms);
}

// Basic auth keys its per-client limits on the address a request came from (issue 24, finding 1).
TEST(http_server, the_handler_sees_the_address_the_request_came_from) {
  asio::io_context io;
  std::optional<asio::ip::address> peer;
  http_server server(io.get_executor(), [&](const http_request& r) -> asio::awaitable<http_response> {
    peer = r.peer;
    co_return http_response{http::status::ok, 11};
  });
  std::string error;
  ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}, error)) << error;
  server.start();
  const std::string answer =
      exchange(io, server.local_endpoint().port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 ")) << answer;
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(peer->to_string(), "127.0.0.1");
  server.stop();
  io.run_for(100ms);
}

// Issue 24, finding 4: requests waiting for their handler (a page waiting for a helper thread
// stuck in a read from a hung mount) counted as being answered and were never closed, so a few
// of them kept everyone out, the kubelet's /-/healthy included. At the cap, one that has waited
// busy_grace is now closed to make room.
TEST(http_server, a_connection_waiting_for_its_handler_is_closed_to_make_room_at_the_cap) {
  asio::io_context io;
  http_server::limits limits;
  limits.max_connections = 4;
  limits.busy_grace = 200ms;
  http_server server(io.get_executor(), [&](const http_request& r) -> asio::awaitable<http_response> {
    if (r.target() == "/stuck") {
      asio::steady_timer never(io, 60s);
      co_await never.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    co_return http_response{http::status::ok, 11};
  }, limits);
  std::string error;
  ASSERT_TRUE(server.listen({asio::ip::make_address("127.0.0.1"), 0}, error)) << error;
  server.start();
  const auto port = server.local_endpoint().port();
  std::vector<int> stuck;
  for (int i = 0; i < 4; ++i) {
    const int fd = connect_loopback(port);
    ASSERT_GE(fd, 0);
    const std::string request = "GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n";
    ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    stuck.push_back(fd);
    io.run_for(20ms);
  }
  io.run_for(100ms);
  const std::string answer = exchange(io, port, "GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200 ")) << "answer: " << answer;
  EXPECT_GE(server.stats().evicted, 1u);
  EXPECT_EQ(server.stats().refused_full, 0u);
  EXPECT_LE(server.open_connections(), 4u);
  for (int fd : stuck) ::close(fd);
  server.stop();
  io.run_for(100ms);
}

http_request request_with(std::initializer_list<std::pair<std::string, std::string>> headers) {
  http_request r{http::verb::post, "/-/reload", 11};
  for (const auto& [k, v] : headers) r.set(k, v);
  return r;
}

TEST(cross_site, browser_requests_from_elsewhere_are_refused) {
  const std::vector<std::string> names = {"exp"};
  EXPECT_EQ(cross_site_refusal(request_with({})), "");
  EXPECT_EQ(cross_site_refusal(request_with({{"Host", "exp:9465"}, {"Origin", "http://exp:9465"}}),
                               names),
            "");
  EXPECT_EQ(cross_site_refusal(request_with({{"Host", "EXP:9465"}, {"Origin", "https://exp:9465"}}),
                               names),
            "");
  EXPECT_EQ(cross_site_refusal(request_with({{"Sec-Fetch-Site", "same-origin"}})), "");
  EXPECT_EQ(cross_site_refusal(request_with({{"Sec-Fetch-Site", "none"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Sec-Fetch-Site", "cross-site"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Sec-Fetch-Site", "same-site"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Host", "exp:9465"}, {"Origin", "null"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Host", "exp:9465"}, {"Origin", "http://evil"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Origin", "http://exp:9465"}})), "");  // no Host
}

// Issue 24, finding 6: a page on a name the attacker points at the exporter is same-origin to the
// browser; its Host header names the attacker's domain.
TEST(cross_site, dns_rebinding_is_refused_by_the_host_header) {
  const std::vector<std::string> names = {"smtp-exporter.monitoring.svc", "Exporter.Example."};
  for (const char* host : {"127.0.0.1:9465", "127.0.0.1", "10.1.2.3:9465", "[::1]:9465", "[::1]",
                           "localhost:9465", "LocalHost", "localhost.",
                           "app.localhost:9465", "smtp-exporter.monitoring.svc:9465",
                           "SMTP-exporter.monitoring.svc", "exporter.example:80",
                           "exporter.example.:9465"}) {
    EXPECT_TRUE(host_names_this_exporter(host, names)) << host;
    const std::string origin = std::string("http://") + host;
    EXPECT_EQ(cross_site_refusal(request_with({{"Host", host},
                                               {"Origin", origin},
                                               {"Sec-Fetch-Site", "same-origin"}}),
                                 names),
              "")
        << host;
  }
  for (const char* host : {"evil.example:9465", "evil.example", "exporter.example.evil.example",
                           "localhost.evil.example", "evillocalhost", "0127.0.0.1:9465",
                           "2130706433:9465", "::1", "[127.0.0.1]:9465", "", ":9465",
                           "[::1:9465", "exp:9465"}) {
    EXPECT_FALSE(host_names_this_exporter(host, names)) << host;
    const std::string origin = std::string("http://") + host;
    EXPECT_NE(cross_site_refusal(request_with({{"Host", host}, {"Origin", origin}}), names), "")
        << host;
  }
  EXPECT_EQ(cross_site_refusal(request_with({{"Host", "evil.example:9465"}}), names),
            "request refused: Host \"evil.example:9465\" is not a name of this exporter (an IP "
            "address, localhost, or a name given with --web.host-name)");
  // A Host header that cannot be printed comes back bounded and printable.
  EXPECT_EQ(cross_site_refusal(request_with({{"Host", "a\x1b[2Jb"}}), names),
            "request refused: Host \"a?[2Jb\" is not a name of this exporter (an IP address, "
            "localhost, or a name given with --web.host-name)");
}

}  // namespace
}  // namespace smtp_exporter::exporter
