// [dnsbl]: its defaults (the zone list), the value checks that need no TOML, and the section's
// reader.
#include "config/dnsbl.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <string>
#include <unordered_map>

#include "common/host_port.hpp"
#include "config/allow_list.hpp"
#include "config/detail/loader.hpp"

namespace smtp_exporter::config {

// Well-kept public lists only, each with its usage terms in docs/configuration.md. Not here:
// SORBS (closed in 2024), lists that charge for delisting.
const std::vector<dnsbl_zone>& default_dnsbl_zones() {
  static const std::vector<dnsbl_zone> zones = [] {
    std::vector<dnsbl_zone> z(5);
    z[0].name = "zen.spamhaus.org";
    z[0].blocking = true;  // what most large receivers consult
    z[0].delist_url = "https://check.spamhaus.org/";
    z[1].name = "bl.spamcop.net";
    z[1].delist_url = "https://www.spamcop.net/bl.shtml";
    z[2].name = "b.barracudacentral.org";
    z[2].delist_url = "https://www.barracudacentral.org/rbl/removal-request";
    z[3].name = "bl.mailspike.net";
    z[3].delist_url = "https://mailspike.io/";
    z[4].name = "psbl.surriel.com";
    z[4].delist_url = "https://psbl.org/";
    return z;
  }();
  return zones;
}

bool is_ip_literal(std::string_view text) { return parse_ip_address(text).has_value(); }

std::string dns_server_problem(std::string_view text) {
  if (is_ip_literal(text)) return {};
  host_port_problem problem;
  if (const auto parts = split_host_port(text, problem); parts && parts->port) {
    // Leading zeros ("IP:0053") were always accepted; parse_port takes at most five digits.
    std::string_view port = *parts->port;
    while (port.size() > 5 && port.front() == '0') port.remove_prefix(1);
    // parse_ip_address reads text with a colon as IPv6 and text without one as IPv4: brackets
    // hold IPv6 only, and a bare host (one colon in all) is IPv4.
    const bool v6 = parts->host.find(':') != std::string_view::npos;
    if (parts->bracketed == v6 && is_ip_literal(parts->host) && parse_port(port)) return {};
  }
  return "must be an IP address, \"IP:port\" or \"[IPv6]:port\" (a DNS server is given by "
         "address, not by name)";
}

namespace detail {
namespace {

constexpr std::string_view dnsbl_keys[] = {
    "enabled", "egress_ips", "discovery", "check_targets", "max_target_ips", "max_in_flight",
    "servers", "interval", "timeout", "zone"};
constexpr std::string_view dnsbl_zone_keys[] = {"name", "servers", "dqs_key_file", "dqs_key_env",
                                                "interval", "timeout", "blocking", "delist_url"};
constexpr std::string_view discovery_keys[] = {"method", "name", "server", "record", "ip6",
                                               "interval", "timeout"};
constexpr std::string_view discovery_methods[] = {"opendns", "google", "custom"};
constexpr std::string_view discovery_records[] = {"A", "AAAA", "TXT"};

}  // namespace

using namespace std::chrono_literals;
using toml::node_type;

void loader::read_dnsbl(const toml::node& node, exporter_config& config) {
  if (expect(node, node_type::table, "dnsbl")) parse_dnsbl(*node.as_table(), config.dnsbl);
}

void loader::read_servers(const toml::table& table, std::string_view base,
                          std::vector<std::string>& out) {
  const toml::node* node = find(table, "servers", node_type::array, base);
  if (node == nullptr) return;
  const std::string path = join(base, "servers");
  const toml::array& list = *node->as_array();
  if (list.size() > 8) return error(*node, path, "at most 8 servers");
  std::vector<std::string> servers;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string item = path + '[' + std::to_string(i) + ']';
    if (!expect(list[i], node_type::string, item)) continue;
    const std::string& value = list[i].as_string()->get();
    if (const std::string problem = dns_server_problem(value); !problem.empty()) {
      error(list[i], item, quote_value(value) + ": " + problem);
    } else {
      servers.push_back(value);
    }
  }
  out = std::move(servers);
}

void loader::read_egress_ips(const toml::table& table, std::string_view base,
                             std::vector<std::string>& out) {
  if (const toml::node* node = find(table, "egress_ips", node_type::array, base)) {
    const std::string path = join(base, "egress_ips");
    const toml::array& list = *node->as_array();
    if (list.size() > max_egress_ips) {
      error(*node, path, "at most " + std::to_string(max_egress_ips) + " addresses");
    } else {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string item = path + '[' + std::to_string(i) + ']';
        if (!expect(list[i], node_type::string, item)) continue;
        const std::string& value = list[i].as_string()->get();
        if (!is_ip_literal(value)) {
          error(list[i], item, quote_value(value) + ": must be an IPv4 or IPv6 address");
        } else if (std::find(out.begin(), out.end(), value) != out.end()) {
          error(list[i], item, quote_value(value) + " is listed twice");
        } else {
          out.push_back(value);
        }
      }
    }
  }
}

// A lookup allowed to outlast its zone's interval would overlap with the next round.
void loader::check_dnsbl_timeout(const toml::table& table, std::string_view base,
                                 duration interval, duration timeout) {
  if (timeout < interval) return;
  const toml::node* node = table.get("timeout");
  error(node != nullptr ? node->source().begin : table.source().begin, join(base, "timeout"),
        "timeout must be shorter than the interval (" + format_duration(timeout) +
            " >= " + format_duration(interval) + ")");
}

void loader::parse_discovery(const toml::table& table, egress_discovery& out) {
  constexpr std::string_view base = "dnsbl.discovery";
  check_keys(table, discovery_keys, base);
  if (!table.contains("method")) error(table.source().begin, join(base, "method"),
                                       "method is required");
  read_choice(table, "method", base, discovery_methods, "method", out.method);
  if (const toml::node* node = find(table, "name", node_type::string, base)) {
    if (const auto problem = hostname_problem(node->as_string()->get())) {
      error(*node, join(base, "name"), *problem);
    } else {
      out.name = node->as_string()->get();
    }
  }
  if (const toml::node* node = find(table, "server", node_type::string, base)) {
    const std::string& value = node->as_string()->get();
    if (const std::string problem = dns_server_problem(value); !problem.empty()) {
      error(*node, join(base, "server"), quote_value(value) + ": " + problem);
    } else {
      out.server = value;
    }
  }
  if (const toml::node* node = find(table, "record", node_type::string, base)) {
    if (out.method != "custom" && !out.method.empty()) {
      error(*node, join(base, "record"), "only a \"custom\" method takes a record type");
    } else {
      read_choice(table, "record", base, discovery_records, "record type", out.record);
    }
  }
  if (const toml::node* node = table.get("ip6"); node != nullptr && out.method == "custom") {
    error(*node, join(base, "ip6"), "a \"custom\" method sets record = \"AAAA\" instead");
  } else {
    read_bool(table, "ip6", base, out.ip6);
  }
  if (out.method == "custom") {
    if (out.name.empty() && !table.contains("name"))
      error(table.source().begin, join(base, "name"), "name is required for method \"custom\"");
    if (out.server.empty() && !table.contains("server"))
      error(table.source().begin, join(base, "server"),
            "server is required for method \"custom\"");
    if (out.record.empty()) out.record = "A";
  }
  const std::size_t errors_before = errors_.size();
  read_duration(table, "interval", base, out.interval);
  read_duration(table, "timeout", base, out.timeout);
  if (errors_.size() == errors_before) check_dnsbl_timeout(table, base, out.interval, out.timeout);
}

void loader::parse_dnsbl_zone(const toml::table& table, const std::string& base,
                              const dnsbl_settings& section, duration interval, duration timeout,
                              dnsbl_zone& out) {
  check_keys(table, dnsbl_zone_keys, base);
  if (!table.contains("name")) error(table.source().begin, join(base, "name"), "name is required");
  if (const toml::node* node = find(table, "name", node_type::string, base)) {
    std::string name = node->as_string()->get();
    if (!name.empty() && name.back() == '.') name.pop_back();
    const bool valid_chars = std::all_of(name.begin(), name.end(), [](char c) {
      return is_word_char(c) || c == '-' || c == '.';
    });
    if (name.empty() || !valid_chars || name.front() == '.' || name.find("..") != std::string::npos ||
        name.size() > 200) {
      error(*node, join(base, "name"),
            "must be a DNS zone name such as \"zen.spamhaus.org\" (letters, digits, '-', '_', "
            "'.'; at most 200 bytes)");
    } else {
      out.name = name;
    }
  }
  out.servers = section.servers;
  read_servers(table, base, out.servers);
  // The key itself is never quoted back: it is a credential.
  for (const std::string_view key : {std::string_view("dqs_key_file"), std::string_view("dqs_key_env")}) {
    const toml::node* node = find(table, key, node_type::string, base);
    if (node == nullptr) continue;
    const std::string& value = node->as_string()->get();
    if (value.empty()) {
      error(*node, join(base, key), "must not be empty");
    } else if (key == "dqs_key_env" && !is_identifier(value)) {
      error(*node, join(base, key), "must be an environment variable name such as \"DQS_KEY\"");
    } else {
      (key == "dqs_key_file" ? out.dqs_key_file : out.dqs_key_env) = value;
    }
  }
  if (table.contains("dqs_key_file") && table.contains("dqs_key_env"))
    error(*table.get("dqs_key_env"), join(base, "dqs_key_env"),
          "conflicts with dqs_key_file; set one of them");
  out.interval = interval;
  out.timeout = timeout;
  const std::size_t errors_before = errors_.size();
  read_duration(table, "interval", base, out.interval);
  read_duration(table, "timeout", base, out.timeout);
  if (errors_.size() == errors_before && (table.contains("interval") || table.contains("timeout")))
    check_dnsbl_timeout(table, base, out.interval, out.timeout);
  read_bool(table, "blocking", base, out.blocking);
  read_string(table, "delist_url", base, out.delist_url);
}

void loader::parse_dnsbl(const toml::table& table, dnsbl_settings& out) {
  constexpr std::string_view base = "dnsbl";
  check_keys(table, dnsbl_keys, base);
  read_bool(table, "enabled", base, out.enabled);
  read_bool(table, "check_targets", base, out.check_targets);
  read_count(table, "max_target_ips", base, 1, 16, out.max_target_ips);
  read_count(table, "max_in_flight", base, 1, 1024, out.max_in_flight);
  read_servers(table, base, out.servers);
  read_egress_ips(table, base, out.egress_ips);
  if (const toml::node* node = find(table, "discovery", node_type::table, base))
    parse_discovery(*node->as_table(), out.discovery);

  duration interval = std::chrono::minutes(15);
  duration timeout = std::chrono::seconds(5);
  const std::size_t timing_errors_before = errors_.size();
  read_duration(table, "interval", base, interval);
  read_duration(table, "timeout", base, timeout);
  if (errors_.size() == timing_errors_before) check_dnsbl_timeout(table, base, interval, timeout);
  if (const toml::node* node = table.get("interval"); node != nullptr && interval < 5min &&
                                                     errors_.size() == timing_errors_before) {
    warning(node->source().begin, "dnsbl.interval",
            "below 5m: list operators ask for no more than a query per IP every few minutes");
  }

  if (const toml::node* node = table.get("zone")) {
    const toml::array* zones = node->as_array();
    if (zones == nullptr) {
      error(*node, "dnsbl.zone",
            "expected array of tables, got " + std::string(type_name(node->type())));
    } else if (zones->size() > max_dnsbl_zones) {
      error(*node, "dnsbl.zone", "at most " + std::to_string(max_dnsbl_zones) + " zones");
    } else {
      std::unordered_map<std::string, std::uint32_t> first_line;
      for (std::size_t i = 0; i < zones->size(); ++i) {
        const std::string zone_base = "dnsbl.zone[" + std::to_string(i) + "]";
        if (!expect((*zones)[i], node_type::table, zone_base)) continue;
        const toml::table& zone_table = *(*zones)[i].as_table();
        dnsbl_zone zone;
        const std::size_t errors_before = errors_.size();
        parse_dnsbl_zone(zone_table, zone_base, out, interval, timeout, zone);
        if (errors_.size() != errors_before) continue;
        const auto [first, inserted] =
            first_line.try_emplace(zone.name, zone_table.source().begin.line);
        if (!inserted) {
          error(*zone_table.get("name"), join(zone_base, "name"),
                "duplicate zone " + quote_value(zone.name) + " (first used on line " +
                    std::to_string(first->second) + ")");
          continue;
        }
        out.zones.push_back(std::move(zone));
      }
    }
  } else {
    for (dnsbl_zone zone : default_dnsbl_zones()) {
      zone.servers = out.servers;
      zone.interval = interval;
      zone.timeout = timeout;
      out.zones.push_back(std::move(zone));
    }
  }
  if (out.enabled && out.egress_ips.empty() && out.discovery.method.empty() && !out.check_targets)
    error(table.source().begin, base,
          "enabled, but nothing to check: set egress_ips, [dnsbl.discovery] or check_targets");
}

}  // namespace detail
}  // namespace smtp_exporter::config
