#include "exporter/web/responses.hpp"

namespace smtp_exporter::exporter {

namespace http = boost::beast::http;

http_response make_response(http::status status, std::string_view content_type) {
  http_response r{status, 11};
  r.set(http::field::content_type, content_type);
  r.set("X-Content-Type-Options", "nosniff");
  return r;
}

http_response text_response(http::status status, std::string body) {
  auto r = make_response(status, "text/plain; charset=utf-8");
  r.body() = std::move(body);
  return r;
}

http_response html_response(std::string body) {
  auto r = make_response(http::status::ok, "text/html; charset=utf-8");
  // The pages have no script and load nothing: say so, so injected markup could not either.
  r.set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  r.body() = std::move(body);
  return r;
}

http_response method_not_allowed(std::string_view allow) {
  auto r = text_response(http::status::method_not_allowed, "method not allowed\n");
  r.set(http::field::allow, allow);
  return r;
}

http_response not_found() { return text_response(http::status::not_found, "404 page not found\n"); }

}  // namespace smtp_exporter::exporter
