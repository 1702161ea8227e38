#include "exporter/web/cross_site.hpp"

#include <algorithm>
#include <string_view>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>

#include "common/host_port.hpp"
#include "common/text_escape.hpp"

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

bool is_localhost_name(std::string_view name) {
  constexpr std::string_view localhost = "localhost";
  if (name.size() < localhost.size()) return false;
  const auto tail = name.substr(name.size() - localhost.size());
  return iequals(tail, localhost) &&
         (name.size() == localhost.size() || name[name.size() - localhost.size() - 1] == '.');
}

}  // namespace

bool host_names_this_exporter(std::string_view host, const std::vector<std::string>& names) {
  host_port_problem problem;
  const auto parts = split_host_port(host, problem);
  if (!parts || parts->host.empty()) return false;
  std::string_view name = parts->host;
  boost::system::error_code ec;
  boost::asio::ip::make_address(name, ec);
  if (!ec) return parts->bracketed == (name.find(':') != std::string_view::npos);
  if (name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return false;
  if (is_localhost_name(name)) return true;
  return std::any_of(names.begin(), names.end(), [&](const std::string& allowed) {
    std::string_view a = allowed;
    if (!a.empty() && a.back() == '.') a.remove_suffix(1);
    return iequals(a, name);
  });
}

std::string cross_site_refusal(const http_request& request, const std::vector<std::string>& names) {
  // Fetch metadata (every current browser): anything but a same-origin request or one the user
  // typed is refused.
  auto site = request["Sec-Fetch-Site"];
  if (!site.empty() && !iequals(site, "same-origin") && !iequals(site, "none")) {
    return "cross-site request refused (Sec-Fetch-Site: " + std::string(site.substr(0, 32)) + ")";
  }
  // Origin: sent by browsers on every cross-origin POST, including form submissions.
  auto origin = request[http::field::origin];
  auto host = request[http::field::host];
  if (!origin.empty()) {
    auto authority = origin_authority(origin);
    if (authority.empty() || host.empty() || !iequals(authority, host)) {
      return "cross-site request refused (Origin does not match Host)";
    }
  }
  // DNS rebinding: same-origin to the browser, but the Host is the attacker's name.
  if (request.count(http::field::host) > 0 && !host_names_this_exporter(host, names)) {
    return "request refused: Host \"" + printable_excerpt(host, 100) +
           "\" is not a name of this exporter (an IP address, localhost, or a name given with "
           "--web.host-name)";
  }
  return {};
}

}  // namespace smtp_exporter::exporter
