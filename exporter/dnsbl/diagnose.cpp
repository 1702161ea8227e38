#include "exporter/dnsbl/diagnose.hpp"

#include <algorithm>
#include <memory>
#include <stdexcept>

#include <boost/json.hpp>

#include "exporter/dnsbl/advice.hpp"
#include "exporter/dnsbl/discovery.hpp"
#include "exporter/dnsbl/resolver.hpp"
#include "exporter/dnsbl/text.hpp"
#include "exporter/dnsbl/zones.hpp"
#include "exporter/runtime/run_to_completion.hpp"
#include "exporter/views/report.hpp"
#include "probes/dns/dnsbl_lookup.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace json = boost::json;
using probes::dnsbl_result;

dnsbl_diagnosis diagnose_dnsbl(asio::io_context& io, const config::dnsbl_settings& settings,
                               std::ostream* text) {
  dnsbl_diagnosis d;
  if (text) {
    *text << "\negress IP on block lists (DNSBL, [dnsbl] in the config: " << settings.zones.size()
          << (settings.zones.size() == 1 ? " zone" : " zones") << ")\n";
  }
  std::vector<asio::ip::address> ips = configured_egress_ips(settings);
  const auto& disc = settings.discovery;
  if (!disc.method.empty()) {
    const auto query = discovery_query(disc);
    const std::string& name = query.name;
    const std::string& server = query.server;
    const auto type = query.type;
    std::string error;
    auto resolver = make_dnsbl_resolver(io.get_executor(), {server}, disc.timeout, error);
    if (!resolver) throw std::runtime_error(error);
    auto found = run_to_completion(io, probes::discover_egress(*resolver, name, type, disc.timeout));
    std::string found_text;
    for (const auto& a : found.addresses) {
      if (std::find(ips.begin(), ips.end(), a) == ips.end()) ips.push_back(a);
      found_text += (found_text.empty() ? "" : ", ") + a.to_string();
    }
    if (found.addresses.empty()) ++d.errors;
    if (text) {
      print_line(*text, found.addresses.empty() ? "FAIL" : "ok", "discovery", found.seconds,
           found.addresses.empty()
               ? found.error + " (" + disc.method + ", " + name + " asked of " + server +
                     "): outbound DNS to it blocked? Set egress_ips instead."
               : found_text + " (" + disc.method + ", " + name + ")");
    }
  }
  d.egress_ips = ips.size();
  for (const auto& a : ips) d.egress.push_back(a.to_string());
  if (ips.empty() && text) print_line(*text, "FAIL", "dnsbl", -1, "no egress IP to check");
  if (settings.check_targets && text) {
    print_line(*text, "", "dnsbl", -1,
               "the targets' addresses are checked by the exporter, not here");
  }

  for (const auto& zone : settings.zones) {
    std::string error;
    const auto suffix = dnsbl_query_suffix(zone, error);
    std::shared_ptr<probes::dns_resolver> resolver;
    if (suffix) resolver = make_dnsbl_resolver(io.get_executor(), zone.servers, zone.timeout, error);
    for (const auto& ip : ips) {
      probes::dnsbl_lookup_result r;
      if (suffix && resolver) {
        r = run_to_completion(io, probes::lookup_dnsbl(*resolver, ip, *suffix, zone.timeout));
      } else {
        r.verdict.result = dnsbl_result::dns_error;
        r.verdict.detail = error;
      }
      const auto result = r.verdict.result;
      const bool listed = result == dnsbl_result::listed;
      d.listed += listed;
      d.listed_blocking += listed && zone.blocking;
      d.errors += probes::is_error(result);
      json::object o{{"ip", ip.to_string()},
                     {"zone", zone.name},
                     {"result", probes::to_string(result)},
                     {"listed", listed},
                     {"blocking", zone.blocking},
                     {"seconds", r.seconds}};
      json::array codes;
      for (int c : r.verdict.return_codes) codes.push_back(c);
      o["return_codes"] = std::move(codes);
      o["txt"] = r.txt;
      o["detail"] = r.verdict.detail;
      o["delist_url"] = zone.delist_url;
      const auto advice = dnsbl_advice(result, zone.name, zone.delist_url, zone.blocking);
      json::array advice_json;
      for (const auto& a : advice) advice_json.push_back(json::value(a));
      o["advice"] = std::move(advice_json);
      d.lookups.push_back(std::move(o));
      if (!text) continue;
      const std::string who = ip.to_string();
      if (listed) {
        print_line(*text, "FAIL", "dnsbl", r.seconds,
             who + " LISTED on " + zone.name + " (" + return_codes_text(r.verdict.return_codes) +
                 (zone.blocking ? ", blocking" : "") + ")" + (r.txt.empty() ? "" : ": " + r.txt));
      } else if (result == dnsbl_result::not_listed) {
        print_line(*text, "ok", "dnsbl", r.seconds, who + " not listed on " + zone.name);
      } else {
        print_line(*text, "warn", "dnsbl", r.seconds,
             who + " on " + zone.name + ": " + std::string(probes::to_string(result)) +
                 (r.verdict.detail.empty() ? "" : " (" + r.verdict.detail + ")") +
                 ": unknown, not a listing");
      }
      if (!advice.empty()) {
        *text << "     What to do:\n";
        for (const auto& a : advice) *text << "     - " << a << "\n";
      }
    }
  }
  return d;
}

std::string dnsbl_verdict(const dnsbl_diagnosis& d) {
  if (d.listed > 0) {
    return "egress IP LISTED: " + std::to_string(d.listed) + " listing(s), " +
           std::to_string(d.listed_blocking) + " on lists marked blocking";
  }
  if (d.egress_ips == 0) return "no egress IP found to check";
  return std::string("not listed") + (d.errors > 0 ? " where lists answered; " : "") +
         (d.errors > 0 ? std::to_string(d.errors) + " lookup(s) failed (unknown)" : "");
}

}  // namespace smtp_exporter::exporter
