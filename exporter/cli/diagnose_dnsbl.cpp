#include "exporter/cli/diagnose_dnsbl.hpp"

#include <cstdio>
#include <memory>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/json.hpp>

#include "exporter/cli/diagnose_report.hpp"
#include "exporter/dnsbl/runner.hpp"
#include "probes/dns/dnsbl_lookup.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace json = boost::json;
using probes::dnsbl_result;

namespace {

// The same columns as the session steps (diagnose_report's print_line); no duration when < 0.
void line(std::ostream& out, std::string_view status, std::string_view label, double seconds,
          std::string_view text) {
  char duration[32] = "";
  if (seconds >= 0) std::snprintf(duration, sizeof duration, "%.3fs", seconds);
  print_line(out, status, label, duration, text);
}

}  // namespace

std::vector<std::string> dnsbl_advice(dnsbl_result result, const std::string& zone,
                                      const std::string& delist_url, bool blocking) {
  switch (result) {
    case dnsbl_result::listed:
      return {
          std::string(blocking ? "Your provider refuses mail from IPs on " + zone +
                                     ": expect 554 rejections."
                               : "Recipients that use " + zone + " may reject or junk the mail."),
          "Find and remove the cause first (a compromised account or web form, an open relay, "
          "other users of a shared NAT address), or the IP is listed again.",
          delist_url.empty() ? "Request delisting at the list's site."
                             : "Request delisting: " + delist_url,
          "Until then, send through a relay (the provider's authenticated submission port from "
          "another IP, a relay service) or from another IP.",
      };
    case dnsbl_result::not_listed: return {};
    case dnsbl_result::resolver_refused:
      return {"Not a listing: the list refuses queries through this resolver (public or shared). "
              "Set the zone's servers to a resolver of your own, or use a Spamhaus DQS key."};
    case dnsbl_result::rate_limited:
      return {"Not a listing: too many queries through this resolver (often a shared one). Set "
              "the zone's servers to a resolver of your own, or use a Spamhaus DQS key."};
    case dnsbl_result::zone_typo:
      return {"Not a listing: the zone name is wrong; check [[dnsbl.zone]] name."};
    case dnsbl_result::answer_rewritten:
      return {"Not a listing: the resolver rewrites answers (ISP NXDOMAIN redirection, Pi-hole, "
              "captive portal). Use another resolver for the zone."};
    case dnsbl_result::invalid_answer:
      return {"Not a listing: the list answered with an error code."};
    default:
      return {"Unknown: the lookup failed; outbound DNS to the zone's resolver may be blocked. "
              "Try `dig @SERVER 2.0.0.127." + zone + "` from this machine."};
  }
}

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
      line(*text, found.addresses.empty() ? "FAIL" : "ok", "discovery", found.seconds,
           found.addresses.empty()
               ? found.error + " (" + disc.method + ", " + name + " asked of " + server +
                     "): outbound DNS to it blocked? Set egress_ips instead."
               : found_text + " (" + disc.method + ", " + name + ")");
    }
  }
  d.egress_ips = ips.size();
  if (ips.empty() && text) line(*text, "FAIL", "dnsbl", -1, "no egress IP to check");
  if (settings.check_targets && text) {
    line(*text, "", "dnsbl", -1, "the targets' addresses are checked by the exporter, not here");
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
        line(*text, "FAIL", "dnsbl", r.seconds,
             who + " LISTED on " + zone.name + " (" + return_codes_text(r.verdict.return_codes) +
                 (zone.blocking ? ", blocking" : "") + ")" + (r.txt.empty() ? "" : ": " + r.txt));
      } else if (result == dnsbl_result::not_listed) {
        line(*text, "ok", "dnsbl", r.seconds, who + " not listed on " + zone.name);
      } else {
        line(*text, "warn", "dnsbl", r.seconds,
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

}  // namespace smtp_exporter::exporter
