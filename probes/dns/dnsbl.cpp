#include "probes/dns/dnsbl.hpp"

#include <algorithm>
#include <array>

#include "probes/dns/address_names.hpp"

namespace smtp_exporter::probes {

namespace asio = boost::asio;

namespace {

constexpr std::array<std::string_view, dnsbl_result_count> result_names{
    "listed",         "not_listed",       "zone_typo", "resolver_refused",
    "rate_limited",   "invalid_answer",   "answer_rewritten", "servfail",
    "refused",        "timeout",          "unreachable",      "dns_error",
};
static_assert(result_names.size() == static_cast<std::size_t>(dnsbl_result::dns_error) + 1);

constexpr std::array<std::string_view, 3> method_names{"opendns", "google", "custom"};
static_assert(method_names.size() == static_cast<std::size_t>(egress_method::custom) + 1);

dnsbl_result error_result(dns_answer::status s) {
  using st = dns_answer::status;
  switch (s) {
    case st::servfail: return dnsbl_result::servfail;
    case st::refused: return dnsbl_result::refused;
    case st::timeout: return dnsbl_result::timeout;
    case st::unreachable: return dnsbl_result::unreachable;
    case st::ok:
    case st::nxdomain:
    case st::nodata:
    case st::failure: break;
  }
  return dnsbl_result::dns_error;
}

// Worst first: when one answer holds several addresses, the most telling error decides, and no
// error can hide behind a listing code in the same answer.
int severity(dnsbl_result r) {
  switch (r) {
    case dnsbl_result::answer_rewritten: return 0;
    case dnsbl_result::resolver_refused: return 1;
    case dnsbl_result::rate_limited: return 2;
    case dnsbl_result::zone_typo: return 3;
    case dnsbl_result::invalid_answer: return 4;
    default: return 5;
  }
}

dnsbl_result classify_address(const asio::ip::address& a) {
  if (!a.is_v4()) return dnsbl_result::answer_rewritten;
  const auto bytes = a.to_v4().to_bytes();
  if (bytes[0] != 127) return dnsbl_result::answer_rewritten;
  if (bytes[1] == 255 && bytes[2] == 255) {
    switch (bytes[3]) {
      case 252: return dnsbl_result::zone_typo;
      case 254: return dnsbl_result::resolver_refused;
      case 255: return dnsbl_result::rate_limited;
      default: return dnsbl_result::invalid_answer;
    }
  }
  if (bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 1) return dnsbl_result::invalid_answer;
  return dnsbl_result::listed;
}

}  // namespace

std::string_view to_string(dnsbl_result r) { return result_names[static_cast<std::size_t>(r)]; }

dnsbl_verdict classify_dnsbl_answer(const dns_answer& answer) {
  dnsbl_verdict v;
  using st = dns_answer::status;
  if (answer.outcome == st::nxdomain || answer.outcome == st::nodata) {
    v.result = dnsbl_result::not_listed;
    return v;
  }
  if (answer.outcome != st::ok) {
    v.result = error_result(answer.outcome);
    v.detail = answer.error;
    return v;
  }
  if (answer.addresses.empty()) {
    v.result = dnsbl_result::not_listed;  // TXT-only: no A record, no listing
    return v;
  }
  std::optional<dnsbl_result> worst_error;
  for (const auto& a : answer.addresses) {
    const dnsbl_result r = classify_address(a);
    if (r == dnsbl_result::listed) {
      v.return_codes.push_back(a.to_v4().to_bytes()[3]);
    } else if (!worst_error || severity(r) < severity(*worst_error)) {
      worst_error = r;
      v.detail = a.to_string();
    }
  }
  if (worst_error) {
    v.result = *worst_error;
    v.return_codes.clear();
    return v;
  }
  std::sort(v.return_codes.begin(), v.return_codes.end());
  v.return_codes.erase(std::unique(v.return_codes.begin(), v.return_codes.end()),
                       v.return_codes.end());
  v.result = dnsbl_result::listed;
  return v;
}

std::chrono::milliseconds dnsbl_keep_for(dnsbl_result result, std::uint32_t ttl_seconds,
                                         std::chrono::milliseconds interval) {
  if (is_error(result)) return std::min<std::chrono::milliseconds>(interval, error_retry);
  const auto ttl = std::min<std::chrono::seconds>(std::chrono::seconds(ttl_seconds), max_answer_ttl);
  return std::max<std::chrono::milliseconds>(interval, ttl);
}

std::string dnsbl_query_name(const asio::ip::address& ip, std::string_view zone) {
  std::string name = reversed_address_labels(ip);
  if (!zone.empty() && zone.back() == '.') zone.remove_suffix(1);
  name += '.';
  name += zone;
  return name;
}

std::optional<egress_query> egress_preset(egress_method method, bool ipv6) {
  // The servers' addresses, not their names: c-ares takes addresses, and resolving
  // "resolver1.opendns.com" first would add a lookup through the very resolver that may be
  // rewriting answers.
  switch (method) {
    case egress_method::opendns:
      return ipv6 ? egress_query{"myip.opendns.com", "2620:119:35::35", dns_record_type::aaaa}
                  : egress_query{"myip.opendns.com", "208.67.222.222", dns_record_type::a};
    case egress_method::google:
      return egress_query{"o-o.myaddr.l.google.com", ipv6 ? "2001:4860:4802:32::a" : "216.239.32.10",
                          dns_record_type::txt};
    case egress_method::custom: break;
  }
  return std::nullopt;
}

std::string_view to_string(egress_method m) { return method_names[static_cast<std::size_t>(m)]; }

std::optional<egress_method> parse_egress_method(std::string_view text) {
  for (std::size_t i = 0; i < method_names.size(); ++i) {
    if (method_names[i] == text) return static_cast<egress_method>(i);
  }
  return std::nullopt;
}

std::vector<asio::ip::address> egress_addresses(const dns_answer& answer) {
  std::vector<asio::ip::address> out;
  auto keep = [&](const asio::ip::address& a) {
    if (a.is_unspecified() || a.is_multicast()) return;
    if (std::find(out.begin(), out.end(), a) == out.end()) out.push_back(a);
  };
  if (answer.outcome != dns_answer::status::ok) return out;
  for (const auto& a : answer.addresses) keep(a);
  for (const auto& text : answer.texts) {
    boost::system::error_code ec;
    const auto a = asio::ip::make_address(text, ec);
    if (!ec) keep(a);
  }
  return out;
}

std::string_view discovery_error(const dns_answer& answer) {
  using st = dns_answer::status;
  if (answer.outcome == st::nxdomain || answer.outcome == st::nodata) return "not_found";
  if (answer.outcome == st::ok) return "no_address";
  return to_string(error_result(answer.outcome));
}

}  // namespace smtp_exporter::probes
