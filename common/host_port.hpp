// "host:port" as people and logs write it (common to config/ and probes/).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace smtp_exporter {

// "host:port", with an IPv6 literal in brackets: "[::1]:25".
inline std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out = host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]"
                                                              : std::string(host);
  return out + ":" + std::to_string(port);
}

}  // namespace smtp_exporter
