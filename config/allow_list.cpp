#include "config/allow_list.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "common/numeric_host.hpp"

namespace smtp_exporter::config {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::optional<unsigned> parse_uint(std::string_view text, unsigned max) {
  unsigned value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc{} || ptr != end || value > max) return std::nullopt;
  return value;
}

// Matches one label of a pattern ("*", "smtp-*", "mx?" is not special) against one host label.
bool label_matches(std::string_view pattern, std::string_view label) {
  const auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == label;
  const std::string_view prefix = pattern.substr(0, star);
  const std::string_view suffix = pattern.substr(star + 1);
  // `*` stands for at least one character.
  return label.size() > prefix.size() + suffix.size() && label.starts_with(prefix) &&
         label.ends_with(suffix);
}

}  // namespace

std::optional<ip_address> parse_ip_address(std::string_view text) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN] = {};
  std::memcpy(buffer, text.data(), text.size());
  ip_address out;
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, buffer, out.bytes.data()) != 1) return std::nullopt;
    return out;
  }
  if (inet_pton(AF_INET6, buffer, out.bytes.data()) != 1) return std::nullopt;
  constexpr std::uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(out.bytes.data(), v4_mapped, sizeof v4_mapped) == 0) {
    std::memmove(out.bytes.data(), out.bytes.data() + 12, 4);
    std::fill(out.bytes.begin() + 4, out.bytes.end(), 0);
    return out;
  }
  out.v6 = true;
  return out;
}

std::optional<cidr> parse_cidr(std::string_view text, std::string& error) {
  const auto slash = text.find('/');
  const std::string_view address_text = text.substr(0, slash);
  const auto address = parse_ip_address(address_text);
  // A mapped address would silently become an IPv4 block with a prefix meant for IPv6.
  if (!address || (!address->v6 && address_text.find(':') != std::string_view::npos)) {
    error = "not an IPv4 or IPv6 address block (want e.g. \"10.0.0.0/8\" or \"fd00::/8\")";
    return std::nullopt;
  }
  const unsigned max_prefix = address->v6 ? 128 : 32;
  cidr out{*address, static_cast<int>(max_prefix)};
  if (slash != std::string_view::npos) {
    const auto prefix = parse_uint(text.substr(slash + 1), max_prefix);
    if (!prefix) {
      error = "prefix length must be a number from 0 to " + std::to_string(max_prefix);
      return std::nullopt;
    }
    out.prefix = static_cast<int>(*prefix);
  }
  ip_address network = *address;
  for (int bit = out.prefix; bit < static_cast<int>(max_prefix); ++bit)
    network.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  if (network != *address) {
    error = "host bits are set; the block is probably a typo (did you mean " +
            to_string(cidr{network, out.prefix}) + "?)";
    return std::nullopt;
  }
  out.network = network;
  return out;
}

bool contains(const cidr& block, const ip_address& address) {
  if (block.network.v6 != address.v6) return false;
  const int full_bytes = block.prefix / 8;
  if (std::memcmp(block.network.bytes.data(), address.bytes.data(), full_bytes) != 0) return false;
  const int rest = block.prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<std::uint8_t>(0xffu << (8 - rest));
  return (block.network.bytes[full_bytes] & mask) == (address.bytes[full_bytes] & mask);
}

std::string to_string(const cidr& block) {
  char buffer[INET6_ADDRSTRLEN] = {};
  inet_ntop(block.network.v6 ? AF_INET6 : AF_INET, block.network.bytes.data(), buffer,
            sizeof buffer);
  return std::string(buffer) + '/' + std::to_string(block.prefix);
}

std::optional<port_range> parse_port_range(std::string_view text, std::string& error) {
  const auto dash = text.find('-');
  const auto first = parse_uint(text.substr(0, dash), 65535);
  const auto last =
      dash == std::string_view::npos ? first : parse_uint(text.substr(dash + 1), 65535);
  if (!first || !last || *first == 0) {
    error = "want a port (1-65535) or a range such as \"2500-2599\"";
    return std::nullopt;
  }
  if (*last < *first) {
    error = "range ends before it starts";
    return std::nullopt;
  }
  return port_range{static_cast<std::uint16_t>(*first), static_cast<std::uint16_t>(*last)};
}

std::optional<std::string> host_pattern_problem(std::string_view pattern) {
  if (pattern.empty()) return "must not be empty";
  if (parse_ip_address(pattern)) return std::nullopt;
  if (pattern.find(':') != std::string_view::npos) return "is not a valid IPv6 address";
  constexpr std::string_view wildcard_address =
      "is an address with a wildcard; list address ranges in allowed_cidrs";
  std::string as_address(pattern);
  std::replace(as_address.begin(), as_address.end(), '*', '0');
  if (parse_ip_address(as_address)) return std::string(wildcard_address);
  // A number with a wildcard in the last label ("*7.0.0.1", "0x*"): it could only ever match a
  // numeric host, which is refused as a host, so the pattern is a mistake (or an attempt).
  if (pattern.find('*') != std::string_view::npos) {
    const auto dot = pattern.rfind('.');
    std::string last(dot == std::string_view::npos ? pattern : pattern.substr(dot + 1));
    std::erase(last, '*');
    if (!last.empty() && is_numeric_label(last)) return std::string(wildcard_address);
  }
  if (is_noncanonical_numeric_host(pattern)) return std::string(numeric_host_message);
  std::size_t start = 0;
  while (start <= pattern.size()) {
    auto end = pattern.find('.', start);
    if (end == std::string_view::npos) end = pattern.size();
    const std::string_view label = pattern.substr(start, end - start);
    if (label.empty()) return "has an empty label (\"..\", or a leading or trailing dot)";
    if (std::count(label.begin(), label.end(), '*') > 1)
      return "has more than one \"*\" in a label";
    for (char c : label) {
      if (c != '*' && !is_label_char(lower(c)))
        return "may hold only letters, digits, \"-\", \"_\", \".\" and \"*\"";
    }
    start = end + 1;
  }
  return std::nullopt;
}

bool host_matches(std::string_view pattern, std::string_view host) {
  std::string p(pattern), h(host);
  std::transform(p.begin(), p.end(), p.begin(), lower);
  std::transform(h.begin(), h.end(), h.begin(), lower);
  if (parse_ip_address(h)) {
    // IP literals compare as addresses, so "::1" and "0:0::1" are one; never by wildcard.
    const auto pattern_address = parse_ip_address(p);
    return pattern_address && *pattern_address == *parse_ip_address(h);
  }
  // A number that some resolver reads as an address ("0127.0.0.1", "2130706433") is no name:
  // nothing matches it, a wildcard least of all.
  if (is_noncanonical_numeric_host(h)) return false;
  std::string_view ps = p, hs = h;
  while (true) {
    const auto pd = ps.find('.'), hd = hs.find('.');
    if (!label_matches(ps.substr(0, pd), hs.substr(0, hd))) return false;
    if (pd == std::string_view::npos || hd == std::string_view::npos)
      return pd == std::string_view::npos && hd == std::string_view::npos;
    ps.remove_prefix(pd + 1);
    hs.remove_prefix(hd + 1);
  }
}

std::optional<std::string> normalize_host(std::string_view host, std::string& error) {
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(), lower);
  if (parse_ip_address(out)) return out;
  if (is_noncanonical_numeric_host(out)) {
    error = "host " + std::string(numeric_host_message);
    return std::nullopt;
  }
  if (!out.empty() && out.back() == '.') out.pop_back();
  if (out.empty() || out.size() > 253) {
    error = "host must be a DNS name of 1 to 253 characters or an IP address";
    return std::nullopt;
  }
  std::size_t start = 0;
  while (start <= out.size()) {
    auto end = out.find('.', start);
    if (end == std::string::npos) end = out.size();
    const std::string_view label = std::string_view(out).substr(start, end - start);
    if (label.empty() || label.size() > 63 ||
        !std::all_of(label.begin(), label.end(), is_label_char)) {
      error =
          "host is neither a DNS name (letters, digits, \"-\", \"_\", labels of 1 to 63) nor "
          "an IP address";
      return std::nullopt;
    }
    start = end + 1;
  }
  return out;
}

bool allow_list::allows_port(std::uint16_t port) const {
  return std::any_of(ports.begin(), ports.end(),
                     [&](const port_range& r) { return port >= r.first && port <= r.last; });
}

bool allow_list::allows_host_name(std::string_view host) const {
  return std::any_of(hosts.begin(), hosts.end(),
                     [&](const std::string& pattern) { return host_matches(pattern, host); });
}

bool allow_list::allows_address(const ip_address& address) const {
  return std::any_of(cidrs.begin(), cidrs.end(),
                     [&](const cidr& block) { return contains(block, address); });
}

std::string describe_ports(const std::vector<port_range>& ports) {
  std::string out;
  for (const auto& r : ports) {
    if (!out.empty()) out += ", ";
    out += std::to_string(r.first);
    if (r.last != r.first) out += '-' + std::to_string(r.last);
  }
  return out.empty() ? std::string("none") : out;
}

}  // namespace smtp_exporter::config
