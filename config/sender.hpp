// The [sender] section (issue 22): will the providers take mail from this IP and these domains?
// Forward-confirmed reverse DNS of the egress IPs, SPF of each egress IP for each sender domain,
// and the sender domains' DMARC records. Plain values, validated at load time
// (docs/configuration.md, "[sender]").
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace smtp_exporter::config {

struct target;

struct sender_settings {
  bool enabled = false;
  // As configured; empty: the domains of the targets' addresses (sender_domains()).
  std::vector<std::string> domains;
  // Egress IPs besides [dnsbl]'s (its egress_ips and what its discovery finds).
  std::vector<std::string> egress_ips;
  std::vector<std::string> servers;  // resolvers; empty: [dnsbl] servers, else the system's
  std::string helo;                  // SPF's %{h}; empty: the [defaults] EHLO name
  bool reverse_dns = true;
  bool spf = true;
  bool dmarc = true;
  std::chrono::milliseconds interval{std::chrono::hours(1)};
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // one evaluation, all its lookups
  bool operator==(const sender_settings&) const = default;
};

inline constexpr std::size_t max_sender_domains = 32;

// The domains to check: `settings.domains` when configured, else the domains of every target's
// envelope mail_from, delivery from and address-shaped auth username, lower-case, sorted, unique,
// at most max_sender_domains.
std::vector<std::string> sender_domains(const sender_settings& settings,
                                        const std::vector<target>& targets);

// A domain as SPF and DMARC take it: an error message, or empty when valid.
std::string sender_domain_problem(const std::string& domain);

}  // namespace smtp_exporter::config
