#include "exporter/web/routes.hpp"

#include <algorithm>

#include "exporter/web/responses.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace http = boost::beast::http;

std::string_view request_path(const http_request& request) {
  const std::string_view target = request.target();
  return target.substr(0, target.find('?'));
}

asio::awaitable<http_response> answer_now(http_response response) { co_return response; }

const route* route_table::find(std::string_view path) const {
  auto it = std::find_if(routes_.begin(), routes_.end(),
                         [path](const route& r) { return r.path == path; });
  return it == routes_.end() ? nullptr : &*it;
}

bool route_table::skips_auth(std::string_view path) const {
  const auto* r = find(path);
  return r != nullptr && r->skips_auth;
}

asio::awaitable<http_response> route_table::dispatch(const http_request& request) const {
  const auto* r = find(request_path(request));
  if (r == nullptr) co_return not_found();
  if (std::find(r->methods.begin(), r->methods.end(), request.method()) == r->methods.end()) {
    std::string allow;
    for (const auto method : r->methods) {
      if (!allow.empty()) allow += ", ";
      const auto name = http::to_string(method);
      allow.append(name.data(), name.size());
    }
    co_return method_not_allowed(allow);
  }
  co_return co_await r->handler(request);
}

}  // namespace smtp_exporter::exporter
