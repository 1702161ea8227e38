// exporter/web/routes.hpp: the table decides 404, 405 and Allow, and which paths skip auth.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "exporter/web/responses.hpp"
#include "exporter/web/routes.hpp"

namespace smtp_exporter::exporter {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;

http_response run(const route_table& table, http::verb method, const std::string& target) {
  asio::io_context io;
  http_request request{method, target, 11};
  auto answer = asio::co_spawn(io, table.dispatch(request), asio::use_future);
  io.run();
  return answer.get();
}

route_table sample() {
  using http::verb;
  return route_table({
      {"/metrics", {verb::get, verb::head}, false,
       [](const http_request&) { return answer_now(text_response(http::status::ok, "m\n")); }},
      {"/-/reload", {verb::post}, false,
       [](const http_request&) { return answer_now(text_response(http::status::ok, "r\n")); }},
      {"/-/healthy", {verb::get, verb::head}, true,
       [](const http_request&) { return answer_now(text_response(http::status::ok, "h\n")); }},
      {"/metrics", {verb::get}, true,  // shadowed: the first row with a path wins
       [](const http_request&) { return answer_now(text_response(http::status::ok, "x\n")); }},
  });
}

TEST(routes, dispatch_by_path_and_method) {
  const auto table = sample();
  auto ok = run(table, http::verb::get, "/metrics?x=1");
  EXPECT_EQ(ok.result(), http::status::ok);
  EXPECT_EQ(ok.body().view(), "m\n");

  auto missing = run(table, http::verb::get, "/nope");
  EXPECT_EQ(missing.result(), http::status::not_found);
  EXPECT_EQ(missing.body().view(), "404 page not found\n");
  EXPECT_EQ(missing["X-Content-Type-Options"], "nosniff");

  auto wrong = run(table, http::verb::delete_, "/metrics");
  EXPECT_EQ(wrong.result(), http::status::method_not_allowed);
  EXPECT_EQ(wrong[http::field::allow], "GET, HEAD");
  EXPECT_EQ(wrong.body().view(), "method not allowed\n");
  EXPECT_EQ(wrong["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(run(table, http::verb::get, "/-/reload")[http::field::allow], "POST");
}

TEST(routes, auth_exempt_paths_come_from_the_table) {
  const auto table = sample();
  EXPECT_TRUE(table.skips_auth("/-/healthy"));
  EXPECT_FALSE(table.skips_auth("/metrics"));
  EXPECT_FALSE(table.skips_auth("/-/reload"));
  EXPECT_FALSE(table.skips_auth("/nope"));
}

}  // namespace
}  // namespace smtp_exporter::exporter
