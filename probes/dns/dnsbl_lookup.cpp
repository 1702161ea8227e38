#include "probes/dns/dnsbl_lookup.hpp"

namespace smtp_exporter::probes {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_txt_bytes = 300;

// A listing's TXT text goes to pages and logs: printable ASCII only, bounded.
std::string printable(const std::vector<std::string>& texts) {
  std::string out;
  for (const auto& t : texts) {
    if (!out.empty()) out += " | ";
    for (const char c : t) {
      if (out.size() >= max_txt_bytes) return out + "...";
      out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
  }
  return out;
}

double since(steady::time_point start) {
  return std::chrono::duration<double>(steady::now() - start).count();
}

}  // namespace

asio::awaitable<dnsbl_lookup_result> lookup_dnsbl(dns_resolver& resolver, asio::ip::address ip,
                                                  std::string zone_suffix,
                                                  std::chrono::milliseconds timeout) {
  const auto start = steady::now();
  const std::string name = dnsbl_query_name(ip, zone_suffix);
  dnsbl_lookup_result r;
  const auto answer = co_await resolver.query(name, dns_record_type::a, start + timeout);
  r.verdict = classify_dnsbl_answer(answer);
  r.ttl = answer.ttl;
  if (r.verdict.result == dnsbl_result::listed) {
    const auto txt = co_await resolver.query(name, dns_record_type::txt, steady::now() + timeout);
    r.txt = printable(txt.texts);
  }
  r.seconds = since(start);
  co_return r;
}

asio::awaitable<egress_discovery_result> discover_egress(dns_resolver& resolver, std::string name,
                                                         dns_record_type type,
                                                         std::chrono::milliseconds timeout,
                                                         std::size_t max_addresses) {
  const auto start = steady::now();
  const auto answer = co_await resolver.query(name, type, start + timeout);
  egress_discovery_result r;
  r.addresses = egress_addresses(answer);
  if (r.addresses.size() > max_addresses) r.addresses.resize(max_addresses);
  if (r.addresses.empty()) {
    r.error = discovery_error(answer);
    r.detail = answer.error;
  }
  r.seconds = since(start);
  co_return r;
}

}  // namespace smtp_exporter::probes
