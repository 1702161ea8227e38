// "host:port" as people and logs write it: the one formatter and the one splitter, for every
// layer (config, probes, the web port, /probe, diagnose). Each caller keeps its own rules on top
// (is the port required? may the host be empty?) and its own wording of an error.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

// "host:port", with an IPv6 literal in brackets: "[::1]:25".
inline std::string host_port(std::string_view host, std::uint16_t port) {
  std::string out = host.find(':') != std::string_view::npos ? "[" + std::string(host) + "]"
                                                              : std::string(host);
  return out + ":" + std::to_string(port);
}

// A port as written: decimal digits only (no sign, no space), 1..65535, or 0 when `allow_zero`
// (a listen address asking the kernel for a free port).
std::optional<std::uint16_t> parse_port(std::string_view text, bool allow_zero = false);

struct host_port_parts {
  std::string_view host;                 // without brackets; may be empty (":9465")
  std::optional<std::string_view> port;  // the text after the colon, unchecked; nullopt: no colon
  bool bracketed = false;                // written as "[host]" or "[host]:port"
};

enum class host_port_problem {
  none,
  unclosed_bracket,     // "[::1" or "[::1:25"
  junk_after_bracket,   // "[::1]x": a closing bracket followed by anything but ":"
};

// Splits without judging the host or the port:
//   "[v6]:port" and "[v6]"         -> bracketed
//   "host:port" (exactly one ':')  -> host and port
//   "host" (no ':')                -> host, no port
//   "::1", "2001:db8::1" (two or more ':', no brackets) -> the whole text as host, no port: an
//                                     IPv6 literal written bare cannot carry a port
// nullopt with `problem` set when a bracket is not closed or is followed by anything but ":".
std::optional<host_port_parts> split_host_port(std::string_view text, host_port_problem& problem);

}  // namespace smtp_exporter
