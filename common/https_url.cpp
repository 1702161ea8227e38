#include "common/https_url.hpp"

#include <algorithm>
#include <cctype>

#include "common/host_port.hpp"

namespace smtp_exporter {

std::optional<https_url_parts> parse_https_url(std::string_view url) {
  constexpr std::string_view scheme = "https://";
  if (url.size() < scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), url.begin(), [](char a, char b) {
        return a == std::tolower(static_cast<unsigned char>(b));
      })) {
    return std::nullopt;
  }
  const std::string_view rest = url.substr(scheme.size());
  const auto path_at = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, path_at);
  const std::string_view target = path_at == std::string_view::npos ? "/" : rest.substr(path_at);
  if (authority.empty() || authority.find('@') != std::string_view::npos ||
      target.find('#') != std::string_view::npos ||
      std::any_of(url.begin(), url.end(), [](char c) {
        return static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f;
      })) {
    return std::nullopt;
  }
  host_port_problem problem = host_port_problem::none;
  const auto parts = split_host_port(authority, problem);
  if (!parts || parts->host.empty()) return std::nullopt;
  https_url_parts out;
  out.host = std::string(parts->host);
  if (parts->port) {
    const auto port = parse_port(*parts->port);
    if (!port) return std::nullopt;
    out.port = *port;
  }
  out.target = target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return out;
}

}  // namespace smtp_exporter
