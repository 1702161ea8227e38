#include "exporter/dnsbl/advice.hpp"

namespace smtp_exporter::exporter {

using probes::dnsbl_result;

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

}  // namespace smtp_exporter::exporter
