#include "exporter/sender/evaluate.hpp"

#include <boost/asio/ip/address.hpp>

#include "exporter/runtime/clock.hpp"
#include "probes/dns/dmarc.hpp"
#include "probes/dns/reverse_dns.hpp"
#include "probes/dns/spf.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

bool is_sender_error(sender_check check, const std::string& result) {
  switch (check) {
    case sender_check::reverse_dns:
      return result != "match" && result != "no_ptr" && result != "mismatch" &&
             result != "generic";
    case sender_check::spf:
      return result == "temperror";
    case sender_check::dmarc:
      return result != "present" && result != "absent" && result != "malformed" &&
             result != "multiple";
  }
  return true;
}

asio::awaitable<reverse_dns_entry> evaluate_reverse_dns(probes::dns_lookup& dns, std::string ip,
                                                        std::chrono::milliseconds timeout) {
  reverse_dns_entry e;
  e.ip = ip;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(ip, ec);
  if (ec) {
    e.result = "invalid_ip";
    e.detail = "not an IP address";
  } else {
    auto o = co_await probes::check_reverse_dns(dns, address, timeout);
    e.result = o.result == probes::reverse_dns_result::error
                   ? o.error
                   : std::string(probes::reverse_dns_result_name(o.result));
    e.name = std::move(o.name);
    e.detail = std::move(o.detail);
  }
  e.timestamp = unix_now();
  co_return e;
}

asio::awaitable<spf_entry> evaluate_spf(probes::dns_lookup& dns, std::string domain,
                                        std::string ip, std::string helo,
                                        std::chrono::milliseconds timeout) {
  spf_entry e;
  e.domain = domain;
  e.ip = ip;
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(ip, ec);
  if (ec) {
    e.result = "permerror";
    e.detail = "not an IP address";
  } else {
    auto o = co_await probes::check_spf(dns, address, domain, "postmaster@" + domain,
                                        std::move(helo), timeout);
    e.result = std::string(probes::spf_result_name(o.result));
    e.detail = std::move(o.detail);
    e.mechanism = std::move(o.mechanism);
    e.dns_lookups = o.dns_lookups;
  }
  e.timestamp = unix_now();
  co_return e;
}

asio::awaitable<dmarc_entry> evaluate_dmarc(probes::dns_lookup& dns,
                                            const probes::public_suffix_list* psl,
                                            std::string psl_error, std::string domain,
                                            std::chrono::milliseconds timeout) {
  dmarc_entry e;
  e.domain = domain;
  if (psl == nullptr) {
    e.result = "psl_unavailable";
    e.detail = "the Public Suffix List could not be loaded: " + psl_error;
    e.timestamp = unix_now();
    co_return e;
  }
  auto o = co_await probes::check_dmarc(dns, *psl, domain, timeout);
  using status = probes::dmarc_outcome::status;
  e.result = o.outcome == status::error ? o.error : std::string(probes::dmarc_status_name(o.outcome));
  if (o.outcome == status::present) {
    e.policy = o.policy();
    e.subdomain_policy = o.record.subdomain_policy;
    e.pct = o.record.pct;
    e.rua = o.record.rua;
  }
  e.found_at = std::move(o.found_at);
  e.from_organizational_domain = o.from_organizational_domain;
  e.detail = !o.detail.empty() ? std::move(o.detail) : o.error;
  e.timestamp = unix_now();
  co_return e;
}

std::string reverse_dns_advice(const reverse_dns_entry& e) {
  if (e.result == "match") return {};
  if (e.result == "no_ptr") {
    return "Gmail refuses or defers mail from an IP without a PTR record (421 4.7.23, 550 5.7.25); "
           "Outlook and Yahoo junk it. Ask whoever owns the IP (the cloud provider's console, "
           "the ISP) to set a PTR to a name whose A/AAAA record points back to " + e.ip + ".";
  }
  if (e.result == "mismatch") {
    return "The PTR name (" + e.name + ") does not resolve back to " + e.ip +
           ": receivers treat this as no reverse DNS (Gmail 550 5.7.25). Add an A/AAAA record "
           "for that name pointing to " + e.ip + ", or change the PTR.";
  }
  if (e.result == "generic") {
    return "The PTR name (" + e.name + ") looks like a provider's generic or dynamic name (the "
           "IP's numbers in it): some receivers score it as a home connection. Set a PTR to a "
           "name of your own domain.";
  }
  return "Unknown: the reverse DNS lookups fail (" + e.result +
         "). This is not a verdict; check outbound DNS or the resolvers in [sender] servers.";
}

std::string spf_advice(const spf_entry& e) {
  const std::string& r = e.result;
  if (r == "pass") return {};
  if (r == "fail") {
    return e.domain + "'s SPF record says " + e.ip +
           " may not send for it (-all): Gmail refuses with 550 5.7.26 when DMARC fails too, "
           "others junk. Add the IP (ip4:/ip6:) or your relay's include: to the record.";
  }
  if (r == "softfail") {
    return e.domain + "'s SPF record does not list " + e.ip +
           " (~all): mail passes only if DKIM aligns; expect the spam folder. Add the IP or the "
           "relay's include:.";
  }
  if (r == "neutral") {
    return e.domain + "'s SPF record makes no claim about " + e.ip +
           " (?all): it counts as no SPF. Add the IP or the relay's include:.";
  }
  if (r == "none") {
    return e.domain + " publishes no SPF record: since 2024 Gmail and Yahoo require SPF or DKIM "
           "for every sender, and both for bulk senders. Publish \"v=spf1 ip4:" + e.ip +
           " -all\" (or your relay's include:).";
  }
  if (r == "permerror") {
    return e.domain + "'s SPF record is broken (" + e.detail +
           "): receivers treat it as a failure. " +
           (e.dns_lookups >= 10 ? "Flatten includes to stay within 10 DNS lookups."
                                : "Fix the record's syntax.");
  }
  return "Unknown: the SPF lookups fail (temperror: " + e.detail +
         "). This is not a verdict; check outbound DNS or the resolvers in [sender] servers.";
}

std::string dmarc_advice(const dmarc_entry& e) {
  const std::string& r = e.result;
  if (r == "present") {
    if (e.policy == "none") {
      return "p=none: receivers only report. Enough for Gmail's and Yahoo's bulk-sender rule; "
             "move to quarantine or reject once the aggregate reports are clean.";
    }
    return {};
  }
  if (r == "absent") {
    return e.domain + " has no DMARC record (nor has its organisational domain): Gmail and Yahoo "
           "(since 2024) and Outlook (since 2025) require one of bulk senders. Publish TXT at "
           "_dmarc." + e.domain + ": \"v=DMARC1; p=none; rua=mailto:dmarc-reports@" + e.domain +
           "\".";
  }
  if (r == "malformed") {
    return "The DMARC record at " + e.found_at + " is malformed (" + e.detail +
           "): receivers ignore it, as if there were none. Fix it: \"v=DMARC1; p=none; ...\".";
  }
  if (r == "multiple") {
    return "More than one DMARC record at " + e.found_at +
           ": receivers ignore them all (RFC 7489 6.6.3). Keep exactly one.";
  }
  return "Unknown: the DMARC lookups fail (" + r + "). This is not a verdict.";
}

}  // namespace smtp_exporter::exporter
