// http_server in process: the listener never ends silently.
#include "exporter/http_server.hpp"

#include <sys/socket.h>

#include <optional>

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include "exporter/cross_site.hpp"

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

http_request request_with(std::initializer_list<std::pair<std::string, std::string>> headers) {
  http_request r{http::verb::post, "/-/reload", 11};
  for (const auto& [k, v] : headers) r.set(k, v);
  return r;
}

TEST(cross_site, browser_requests_from_elsewhere_are_refused) {
  EXPECT_EQ(cross_site_refusal(request_with({})), "");
  EXPECT_EQ(cross_site_refusal(request_with({{"Host", "exp:9465"}, {"Origin", "http://exp:9465"}})),
            "");
  EXPECT_EQ(cross_site_refusal(request_with({{"Host", "EXP:9465"}, {"Origin", "https://exp:9465"}})),
            "");
  EXPECT_EQ(cross_site_refusal(request_with({{"Sec-Fetch-Site", "same-origin"}})), "");
  EXPECT_EQ(cross_site_refusal(request_with({{"Sec-Fetch-Site", "none"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Sec-Fetch-Site", "cross-site"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Sec-Fetch-Site", "same-site"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Host", "exp:9465"}, {"Origin", "null"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Host", "exp:9465"}, {"Origin", "http://evil"}})), "");
  EXPECT_NE(cross_site_refusal(request_with({{"Origin", "http://exp:9465"}})), "");  // no Host
}

}  // namespace
}  // namespace smtp_exporter::exporter
