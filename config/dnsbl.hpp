// The [dnsbl] section: DNSBL checks of the egress IPs (configured or discovered over DNS) and,
// optionally, of the targets' addresses. Plain values, validated at load time
// (docs/configuration.md, "[dnsbl]").
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::config {

struct dnsbl_zone {
  std::string name;                  // e.g. "zen.spamhaus.org"; the `zone` label
  std::vector<std::string> servers;  // "IP", "IP:port", "[IPv6]:port"; empty: [dnsbl] servers
  std::string dqs_key_file;          // Spamhaus DQS key, asked as KEY.<name>; never logged
  std::string dqs_key_env;
  std::chrono::milliseconds interval{};  // resolved: the zone's or [dnsbl] interval
  std::chrono::milliseconds timeout{};   // resolved likewise
  bool blocking = false;  // listing here makes the provider refuse mail: critical alert
  std::string delist_url;  // advice on pages and in diagnose
  bool operator==(const dnsbl_zone&) const = default;
};

struct egress_discovery {
  std::string method;  // "" (off), "opendns", "google", "custom"
  std::string name;    // custom, or an override of the preset's
  std::string server;  // custom, or an override of the preset's ("IP" or "IP:port")
  std::string record;  // "A", "AAAA", "TXT"; custom only
  bool ip6 = false;    // presets: ask over IPv6 for the IPv6 egress address (OpenDNS: AAAA)
  std::chrono::milliseconds interval{std::chrono::minutes(5)};
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  bool operator==(const egress_discovery&) const = default;
};

struct dnsbl_settings {
  bool enabled = false;
  std::vector<std::string> egress_ips;  // IP literals, as written
  egress_discovery discovery;
  bool check_targets = false;
  std::size_t max_target_ips = 4;  // addresses checked per target host
  std::size_t max_in_flight = 16;  // DNSBL queries in flight, all zones together
  std::vector<std::string> servers;  // default resolvers of the zones; empty: the system's
  std::vector<dnsbl_zone> zones;     // resolved: as configured, or the default list
  bool operator==(const dnsbl_settings&) const = default;
};

// The documented default zone list (docs/configuration.md), used when [dnsbl] lists no zone.
// `interval` and `timeout` are left zero here; the loader fills them in.
const std::vector<dnsbl_zone>& default_dnsbl_zones();

inline constexpr std::size_t max_dnsbl_zones = 32;
inline constexpr std::size_t max_egress_ips = 16;

// A DNS server address as c-ares takes it: "IP", "IP:port" or "[IPv6]:port"; an error message
// for anything else (host names included: the server is asked for names, it cannot be one).
std::string dns_server_problem(std::string_view text);  // empty when valid
bool is_ip_literal(std::string_view text);  // "203.0.113.7", "2001:db8::1"

}  // namespace smtp_exporter::config
