// Which targets a /probe module may probe: host name patterns, address blocks and ports. Pure
// functions over strings and address bytes (no sockets), so every rule is table-tested.
//
// A target is allowed when its port is in `ports` AND either its host matches one of `hosts` or
// every address the session connects to lies in one of `cidrs`. An empty list allows nothing:
// a module that names neither hosts nor CIDRs probes nothing.
//
// Thread-safety: values; the functions are pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::config {

// An IPv4 or IPv6 address as bytes: IPv4 in the first 4 bytes, the rest zero.
struct ip_address {
  std::array<std::uint8_t, 16> bytes{};
  bool v6 = false;
  bool operator==(const ip_address&) const = default;
};
// "192.0.2.1", "2001:db8::1" (no brackets, no zone). An IPv4-mapped IPv6 address
// (::ffff:192.0.2.1) is returned as the IPv4 address, so an IPv4 block covers it.
std::optional<ip_address> parse_ip_address(std::string_view text);

// An address block: "10.0.0.0/8", "::1/128"; a bare address is a single-address block.
struct cidr {
  ip_address network;  // host bits cleared
  int prefix = 0;      // 0..32 or 0..128
  bool operator==(const cidr&) const = default;
};
// nullopt with `error` set on anything else, including host bits set ("10.0.0.1/8"), which
// usually means a typo.
std::optional<cidr> parse_cidr(std::string_view text, std::string& error);
bool contains(const cidr& block, const ip_address& address);
std::string to_string(const cidr& block);

// 25, or "2500-2599" (inclusive).
struct port_range {
  std::uint16_t first = 0;
  std::uint16_t last = 0;
  bool operator==(const port_range&) const = default;
};
std::optional<port_range> parse_port_range(std::string_view text, std::string& error);

// Host name patterns, DNS style and case-insensitive: `*` matches one or more characters within
// one label ("*.example.com" matches "smtp.example.com", neither "example.com" nor
// "a.b.example.com"; "smtp.*" never reaches past one label). Anything else matches itself.
// An IP literal target matches only a pattern that spells it ("127.0.0.1"); a non-canonical
// numeric host ("0127.0.0.1", common/numeric_host.hpp) matches nothing, and a pattern that is
// one, or a number with a wildcard ("*7.0.0.1"), is refused.
// Returns the problem with a pattern, or nullopt when it is valid.
std::optional<std::string> host_pattern_problem(std::string_view pattern);
bool host_matches(std::string_view pattern, std::string_view host);

// The requested host in canonical form: lower case, without one trailing dot; nullopt (with
// `error`) unless it is a plausible DNS name or an IP literal. A non-canonical numeric host is
// refused ("host looks like an IPv4 address but ...").
std::optional<std::string> normalize_host(std::string_view host, std::string& error);

struct allow_list {
  std::vector<std::string> hosts;  // patterns, lower case
  std::vector<cidr> cidrs;
  std::vector<port_range> ports;

  bool allows_port(std::uint16_t port) const;
  // `host` normalized (normalize_host).
  bool allows_host_name(std::string_view host) const;
  bool allows_address(const ip_address& address) const;
  bool operator==(const allow_list&) const = default;
};

// "25, 465, 2500-2599": for messages.
std::string describe_ports(const std::vector<port_range>& ports);

}  // namespace smtp_exporter::config
