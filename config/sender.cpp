// [sender]: the value checks that need no TOML, the domains derived from the targets, and the
// section's reader.
#include "config/sender.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "config/config.hpp"
#include "config/detail/loader.hpp"

namespace smtp_exporter::config {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// The domain of an address ("a@b.example" -> "b.example"), or "" when it is not one.
std::string domain_of(const std::string& address) {
  const auto at = address.rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= address.size()) return {};
  std::string domain = lower(address.substr(at + 1));
  return sender_domain_problem(domain).empty() ? domain : std::string();
}

}  // namespace

std::string sender_domain_problem(const std::string& domain) {
  if (domain.empty()) return "must not be empty";
  if (domain.size() > 253) return "longer than 253 bytes";
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != std::string::npos)
    return "must be a domain name such as \"example.com\" (no empty label, no trailing dot)";
  if (domain.find('.') == std::string::npos) return "must have at least two labels";
  std::size_t label = 0;
  for (char c : domain) {
    if (c == '.') {
      label = 0;
      continue;
    }
    if (++label > 63) return "a label is longer than 63 bytes";
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return "must be a domain name such as \"example.com\" (letters, digits, '-', '_', '.')";
  }
  return {};
}

std::vector<std::string> sender_domains(const sender_settings& settings,
                                        const std::vector<target>& targets) {
  if (!settings.domains.empty()) return settings.domains;
  std::set<std::string> found;
  for (const auto& t : targets) {
    std::vector<std::string> addresses;
    if (t.envelope) addresses.push_back(t.envelope->mail_from);
    if (t.delivery) addresses.push_back(t.delivery->from);
    if (t.auth) addresses.push_back(t.auth->username);
    for (const auto& a : addresses) {
      if (auto d = domain_of(a); !d.empty()) found.insert(std::move(d));
    }
  }
  std::vector<std::string> out(found.begin(), found.end());
  if (out.size() > max_sender_domains) out.resize(max_sender_domains);
  return out;
}

namespace detail {
namespace {

constexpr std::string_view sender_keys[] = {"enabled", "domains",     "egress_ips", "servers",
                                            "helo",    "reverse_dns", "spf",        "dmarc",
                                            "interval", "timeout"};

}  // namespace

using toml::node_type;

void loader::read_sender(const toml::node& node, exporter_config& config) {
  if (expect(node, node_type::table, "sender")) parse_sender(*node.as_table(), config.sender);
}

void loader::parse_sender(const toml::table& table, sender_settings& out) {
  constexpr std::string_view base = "sender";
  check_keys(table, sender_keys, base);
  read_bool(table, "enabled", base, out.enabled);
  read_bool(table, "reverse_dns", base, out.reverse_dns);
  read_bool(table, "spf", base, out.spf);
  read_bool(table, "dmarc", base, out.dmarc);
  read_servers(table, base, out.servers);
  read_egress_ips(table, base, out.egress_ips);
  if (const toml::node* node = find(table, "domains", node_type::array, base)) {
    const std::string path = join(base, "domains");
    const toml::array& list = *node->as_array();
    if (list.size() > max_sender_domains) {
      error(*node, path, "at most " + std::to_string(max_sender_domains) + " domains");
    } else {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string item = path + '[' + std::to_string(i) + ']';
        if (!expect(list[i], node_type::string, item)) continue;
        std::string value = list[i].as_string()->get();
        if (!value.empty() && value.back() == '.') value.pop_back();
        std::transform(value.begin(), value.end(), value.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (const auto problem = sender_domain_problem(value); !problem.empty()) {
          error(list[i], item, quote_value(list[i].as_string()->get()) + ": " + problem);
        } else if (std::find(out.domains.begin(), out.domains.end(), value) != out.domains.end()) {
          error(list[i], item, quote_value(value) + " is listed twice");
        } else {
          out.domains.push_back(std::move(value));
        }
      }
    }
  }
  if (const toml::node* node = find(table, "helo", node_type::string, base)) {
    if (const auto problem = hostname_problem(node->as_string()->get())) {
      error(*node, join(base, "helo"), *problem);
    } else {
      out.helo = node->as_string()->get();
    }
  }
  const std::size_t errors_before = errors_.size();
  read_duration(table, "interval", base, out.interval);
  read_duration(table, "timeout", base, out.timeout);
  if (errors_.size() == errors_before) {
    check_dnsbl_timeout(table, base, out.interval, out.timeout);
    if (const toml::node* node = table.get("interval");
        node != nullptr && out.interval < std::chrono::minutes(5)) {
      warning(node->source().begin, "sender.interval",
              "below 5m: SPF and DMARC records change rarely, and each round asks up to a few "
              "hundred DNS questions");
    }
  }
  if (out.enabled && !out.reverse_dns && !out.spf && !out.dmarc)
    error(table.source().begin, base,
          "enabled, but nothing to check: reverse_dns, spf and dmarc are all false");
}

}  // namespace detail
}  // namespace smtp_exporter::config
