#include "common/host_port.hpp"

namespace smtp_exporter {

std::optional<std::uint16_t> parse_port(std::string_view text, bool allow_zero) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 65535 || (value == 0 && !allow_zero)) return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

std::optional<host_port_parts> split_host_port(std::string_view text,
                                               host_port_problem& problem) {
  problem = host_port_problem::none;
  host_port_parts parts;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      problem = host_port_problem::unclosed_bracket;
      return std::nullopt;
    }
    parts.bracketed = true;
    parts.host = text.substr(1, close - 1);
    const auto rest = text.substr(close + 1);
    if (rest.empty()) return parts;
    if (rest.front() != ':') {
      problem = host_port_problem::junk_after_bracket;
      return std::nullopt;
    }
    parts.port = rest.substr(1);
    return parts;
  }
  const auto colon = text.find(':');
  if (colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    parts.host = text.substr(0, colon);
    parts.port = text.substr(colon + 1);
  } else {
    parts.host = text;
  }
  return parts;
}

}  // namespace smtp_exporter
