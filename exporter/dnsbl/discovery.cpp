#include "exporter/dnsbl/discovery.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

std::vector<asio::ip::address> configured_egress_ips(const config::dnsbl_settings& settings) {
  std::vector<asio::ip::address> out;
  for (const auto& ip : settings.egress_ips) {
    boost::system::error_code ec;
    const auto a = asio::ip::make_address(ip, ec);
    if (!ec) out.push_back(a);
  }
  return out;
}

probes::egress_query discovery_query(const config::egress_discovery& d) {
  probes::egress_query q;
  if (const auto method = probes::parse_egress_method(d.method)) {
    q = probes::egress_preset(*method, d.ip6).value_or(probes::egress_query{});
  }
  if (!d.name.empty()) q.name = d.name;
  if (!d.server.empty()) q.server = d.server;
  if (d.method == "custom") {
    q.type = d.record == "TXT"    ? probes::dns_record_type::txt
             : d.record == "AAAA" ? probes::dns_record_type::aaaa
                                  : probes::dns_record_type::a;
  }
  return q;
}

}  // namespace smtp_exporter::exporter
