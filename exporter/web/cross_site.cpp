#include "exporter/web/cross_site.hpp"

#include <string_view>

#include <boost/beast/core/string.hpp>

namespace smtp_exporter::exporter {

namespace http = boost::beast::http;
using boost::beast::iequals;

namespace {

// "https://host:port" -> "host:port"; the scheme's default port is not added, as browsers send
// the Host header without it too.
std::string_view origin_authority(std::string_view origin) {
  auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return {};
  auto authority = origin.substr(scheme_end + 3);
  if (auto slash = authority.find('/'); slash != std::string_view::npos) {
    authority = authority.substr(0, slash);
  }
  return authority;
}

}  // namespace

std::string cross_site_refusal(const http_request& request) {
  // Fetch metadata (every current browser): anything but a same-origin request or one the user
  // typed is refused.
  auto site = request["Sec-Fetch-Site"];
  if (!site.empty() && !iequals(site, "same-origin") && !iequals(site, "none")) {
    return "cross-site request refused (Sec-Fetch-Site: " + std::string(site.substr(0, 32)) + ")";
  }
  // Origin: sent by browsers on every cross-origin POST, including form submissions.
  auto origin = request[http::field::origin];
  if (!origin.empty()) {
    auto host = request[http::field::host];
    auto authority = origin_authority(origin);
    if (authority.empty() || host.empty() || !iequals(authority, host)) {
      return "cross-site request refused (Origin does not match Host)";
    }
  }
  return {};
}

}  // namespace smtp_exporter::exporter
