#include "probes/dns/reverse_dns.hpp"

#include <array>
#include <cstdio>
#include <optional>
#include <vector>

#include "common/ascii.hpp"
#include "common/text_escape.hpp"
#include "probes/dns/address_names.hpp"
#include "probes/dns/spf_macro.hpp"

namespace smtp_exporter::probes {

namespace asio = boost::asio;
using steady_clock = std::chrono::steady_clock;

namespace {

constexpr std::array<std::string_view, reverse_dns_result_count> result_names{
    "match", "no_ptr", "mismatch", "generic", "error"};
static_assert(result_names.size() == static_cast<std::size_t>(reverse_dns_result::error) + 1);

constexpr std::array<std::string_view, 16> dynamic_tokens{
    "dynamic", "dyn",  "dhcp", "pool",  "dialup",    "dial",        "ppp", "pppoe",
    "dsl",     "adsl", "vdsl", "xdsl",  "cable",     "broadband",   "residential", "cpe"};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::vector<std::string_view> split(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || separators.find(text[i]) != std::string_view::npos) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

// Rule 1: four digit runs separated by single '.', '-' or '_', equal to the octets in order or
// reversed; or one 12-digit run of zero-padded octets.
bool holds_octets(std::string_view name, const asio::ip::address_v4::bytes_type& octets) {
  struct run {
    std::size_t begin, end;
  };
  std::vector<run> runs;
  for (std::size_t i = 0; i < name.size();) {
    if (!is_digit(name[i])) {
      ++i;
      continue;
    }
    std::size_t j = i;
    while (j < name.size() && is_digit(name[j])) ++j;
    runs.push_back({i, j});
    i = j;
  }
  const auto value = [&](const run& r) {
    if (r.end - r.begin > 3) return -1;
    int v = 0;
    for (std::size_t i = r.begin; i < r.end; ++i) v = v * 10 + (name[i] - '0');
    return v;
  };
  const auto separated = [&](const run& a, const run& b) {
    return b.begin == a.end + 1 &&
           (name[a.end] == '.' || name[a.end] == '-' || name[a.end] == '_');
  };
  char padded[16];
  std::snprintf(padded, sizeof padded, "%03u%03u%03u%03u", octets[0], octets[1], octets[2],
                octets[3]);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].end - runs[i].begin == 12 && name.substr(runs[i].begin, 12) == padded) return true;
    if (i + 3 >= runs.size()) continue;
    bool forward = true, reversed = true;
    for (std::size_t k = 0; k < 4; ++k) {
      const int v = value(runs[i + k]);
      forward = forward && v == octets[k];
      reversed = reversed && v == octets[3 - k];
      if (k > 0 && !separated(runs[i + k - 1], runs[i + k])) forward = reversed = false;
    }
    if (forward || reversed) return true;
  }
  return false;
}

std::string hex_form(const asio::ip::address& ip) {
  std::string out;
  const auto append = [&out](const auto& bytes) {
    for (const unsigned char b : bytes) {
      char buffer[3];
      std::snprintf(buffer, sizeof buffer, "%02x", b);
      out += buffer;
    }
  };
  if (ip.is_v4()) {
    append(ip.to_v4().to_bytes());
  } else {
    append(ip.to_v6().to_bytes());
  }
  return out;
}

reverse_dns_outcome failed(const dns_answer& a, std::string detail) {
  reverse_dns_outcome out;
  out.result = reverse_dns_result::error;
  out.error = std::string(dns_error_class(a.outcome));
  out.detail = std::move(detail);
  return out;
}

std::string shown(std::string_view name) { return printable_excerpt(name, 120); }

}  // namespace

std::string_view reverse_dns_result_name(reverse_dns_result r) {
  return result_names[static_cast<std::size_t>(r)];
}

bool looks_generic(std::string_view ptr_name, const asio::ip::address& address) {
  const asio::ip::address ip = unmapped(address);
  const std::string name = ascii_lower(ptr_name);
  if (ip.is_v4() && holds_octets(name, ip.to_v4().to_bytes())) return true;
  const std::vector<std::string_view> labels = split(name, ".");
  if (labels.front().find(hex_form(ip)) != std::string_view::npos) return true;
  for (std::size_t i = 0; i + 2 < labels.size(); ++i) {
    for (const std::string_view token : split(labels[i], "-_")) {
      for (const std::string_view dynamic : dynamic_tokens) {
        if (token == dynamic) return true;
      }
    }
  }
  return false;
}

asio::awaitable<reverse_dns_outcome> check_reverse_dns(dns_lookup& dns, asio::ip::address address,
                                                       std::chrono::milliseconds timeout) {
  const asio::ip::address ip = unmapped(address);
  const auto deadline = steady_clock::now() + timeout;
  const std::string ptr_name = reverse_dns_name(ip);
  int queries = 1;
  const dns_answer ptr = co_await dns.query(ptr_name, dns_record_type::ptr, deadline);
  using st = dns_answer::status;
  if (ptr.outcome == st::nxdomain || ptr.outcome == st::nodata) {
    reverse_dns_outcome out;
    out.result = reverse_dns_result::no_ptr;
    out.detail = "no PTR record at " + ptr_name;
    out.queries = queries;
    co_return out;
  }
  if (ptr.outcome != st::ok) {
    reverse_dns_outcome out = failed(ptr, std::string(dns_error_class(ptr.outcome)) +
                                              " asking PTR " + ptr_name);
    out.queries = queries;
    co_return out;
  }
  const dns_record_type family = ip.is_v4() ? dns_record_type::a : dns_record_type::aaaa;
  std::optional<reverse_dns_outcome> forward_error;
  std::string first_name;
  int checked = 0;
  for (const std::string& name : ptr.names) {
    if (!is_queryable_name(name)) continue;
    if (checked++ == reverse_dns_max_names) break;
    if (first_name.empty()) first_name = name;
    ++queries;
    const dns_answer forward = co_await dns.query(name, family, deadline);
    if (forward.outcome != st::ok && forward.outcome != st::nxdomain &&
        forward.outcome != st::nodata) {
      if (!forward_error) {
        forward_error = failed(forward, std::string(dns_error_class(forward.outcome)) +
                                            " asking " +
                                            std::string(dns_record_type_name(family)) + " " +
                                            shown(name));
        forward_error->name = name;
      }
      continue;
    }
    for (const auto& a : forward.addresses) {
      if (a != ip) continue;
      reverse_dns_outcome out;
      out.name = name;
      if (looks_generic(name, ip)) {
        out.result = reverse_dns_result::generic;
        out.detail = shown(name) + " maps back but looks like a dynamic address's name";
      } else {
        out.result = reverse_dns_result::match;
        out.detail = shown(name) + " maps back";
      }
      out.queries = queries;
      co_return out;
    }
  }
  if (forward_error) {
    forward_error->queries = queries;
    co_return *forward_error;
  }
  reverse_dns_outcome out;
  out.name = first_name;
  out.queries = queries;
  if (first_name.empty()) {
    out.result = reverse_dns_result::no_ptr;
    out.detail = "no usable PTR name at " + ptr_name;
  } else {
    out.result = reverse_dns_result::mismatch;
    out.detail = "no PTR name maps back to " + ip.to_string() + " (first: " + shown(first_name) + ")";
  }
  co_return out;
}

}  // namespace smtp_exporter::probes
