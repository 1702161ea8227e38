// The default DNSBL zone list and the [dnsbl] value checks that need no TOML (the section itself
// is read in config.cpp, with the rest of the file).
#include "config/dnsbl.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <string>

namespace smtp_exporter::config {

namespace {

bool is_ip(const std::string& text, int family) {
  unsigned char buffer[16];
  return inet_pton(family, text.c_str(), buffer) == 1;
}

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

bool is_ip_literal(std::string_view text) {
  const std::string s(text);
  return is_ip(s, AF_INET) || is_ip(s, AF_INET6);
}

std::string dns_server_problem(std::string_view text) {
  const std::string s(text);
  if (is_ip(s, AF_INET) || is_ip(s, AF_INET6)) return {};
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find("]:");
    if (close != std::string::npos && is_ip(s.substr(1, close - 1), AF_INET6) &&
        is_port(text.substr(close + 2))) {
      return {};
    }
  } else if (const auto colon = s.rfind(':'); colon != std::string::npos &&
                                               s.find(':') == colon &&
                                               is_ip(s.substr(0, colon), AF_INET) &&
                                               is_port(text.substr(colon + 1))) {
    return {};
  }
  return "must be an IP address, \"IP:port\" or \"[IPv6]:port\" (a DNS server is given by "
         "address, not by name)";
}

}  // namespace smtp_exporter::config
