// The default DNSBL zone list and the [dnsbl] value checks that need no TOML (the section itself
// is read in config.cpp, with the rest of the file).
#include "config/dnsbl.hpp"

#include <charconv>
#include <string>

#include "config/allow_list.hpp"

namespace smtp_exporter::config {

namespace {

bool is_port(std::string_view text) {
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  return ec == std::errc() && end == text.data() + text.size() && port >= 1 && port <= 65535;
}

}  // namespace

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
  // parse_ip_address reads text with a colon as IPv6 and text without one as IPv4.
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close != std::string_view::npos) {
      const std::string_view address = text.substr(1, close - 1);
      if (address.find(':') != std::string_view::npos && is_ip_literal(address) &&
          is_port(text.substr(close + 2))) {
        return {};
      }
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos &&
                                                  text.find(':') == colon &&
                                                  is_ip_literal(text.substr(0, colon)) &&
                                                  is_port(text.substr(colon + 1))) {
    return {};
  }
  return "must be an IP address, \"IP:port\" or \"[IPv6]:port\" (a DNS server is given by "
         "address, not by name)";
}

}  // namespace smtp_exporter::config
