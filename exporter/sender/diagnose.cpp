#include "exporter/sender/diagnose.hpp"

#include <stdexcept>

#include <boost/json.hpp>

#include "exporter/runtime/run_to_completion.hpp"
#include "exporter/sender/evaluate.hpp"
#include "exporter/views/report.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

void print_advice(std::ostream* text, const std::string& advice) {
  if (text && !advice.empty()) *text << "     What the providers require: " << advice << "\n";
}

const char* status_of(bool good, bool error) { return error ? "warn" : good ? "ok" : "FAIL"; }

}  // namespace

check_diagnosis diagnose_sender(asio::io_context& io, const sender_plan& plan,
                                const std::vector<std::string>& egress_ips, std::ostream* text) {
  const auto& s = plan.settings;
  if (text) {
    *text << "\nsender readiness ([sender] in the config: " << egress_ips.size()
          << (egress_ips.size() == 1 ? " egress IP, " : " egress IPs, ") << plan.domains.size()
          << (plan.domains.size() == 1 ? " domain)" : " domains)") << "\n";
  }
  std::string error;
  auto resolver = make_sender_resolver(io.get_executor(), plan.servers, error);
  if (!resolver) throw std::runtime_error(error);
  probes::resolver_dns_lookup network(*resolver);
  probes::cached_dns_lookup dns(network);
  std::shared_ptr<const probes::public_suffix_list> psl;
  std::string psl_error;
  if (s.dmarc) {
    try {
      psl = probes::public_suffix_list::load();
    } catch (const std::exception& e) {
      psl_error = e.what();
    }
  }
  if (text && egress_ips.empty()) {
    print_line(*text, "FAIL", "sender", -1,
               "no egress IP known: set [sender] egress_ips, or [dnsbl] egress_ips or discovery");
  }
  if (text && plan.domains.empty()) {
    print_line(*text, "FAIL", "sender", -1,
               "no sender domain: set [sender] domains, or give targets a mail_from");
  }

  std::size_t failing = 0, unknown = 0;
  json::object doc;
  json::array rdns_json, spf_json, dmarc_json;
  if (s.reverse_dns) {
    for (const auto& ip : egress_ips) {
      auto e = run_to_completion(io, evaluate_reverse_dns(dns, ip, s.timeout));
      const bool error = is_sender_error(sender_check::reverse_dns, e.result);
      failing += !error && e.result != "match";
      unknown += error;
      const auto advice = reverse_dns_advice(e);
      rdns_json.push_back(json::object{{"ip", e.ip},       {"result", e.result},
                                       {"name", e.name},   {"detail", e.detail},
                                       {"advice", advice}});
      if (!text) continue;
      print_line(*text, status_of(e.result == "match", error), "reverse dns", -1,
                 ip + ": " + e.result + (e.name.empty() ? "" : " (" + e.name + ")") +
                     (e.detail.empty() ? "" : ": " + e.detail));
      print_advice(text, advice);
    }
  }
  if (s.spf) {
    for (const auto& domain : plan.domains) {
      for (const auto& ip : egress_ips) {
        auto e = run_to_completion(io, evaluate_spf(dns, domain, ip, plan.helo, s.timeout));
        const bool error = is_sender_error(sender_check::spf, e.result);
        failing += !error && e.result != "pass";
        unknown += error;
        const auto advice = spf_advice(e);
        spf_json.push_back(json::object{{"domain", e.domain},
                                        {"ip", e.ip},
                                        {"result", e.result},
                                        {"mechanism", e.mechanism},
                                        {"dns_lookups", e.dns_lookups},
                                        {"detail", e.detail},
                                        {"advice", advice}});
        if (!text) continue;
        print_line(*text, status_of(e.result == "pass", error), "spf", -1,
                   domain + " from " + ip + ": " + e.result +
                       (e.detail.empty() ? "" : " (" + e.detail + ")") + ", " +
                       std::to_string(e.dns_lookups) + " of 10 DNS lookups");
        print_advice(text, advice);
      }
    }
  }
  if (s.dmarc) {
    for (const auto& domain : plan.domains) {
      auto e = run_to_completion(io, evaluate_dmarc(dns, psl.get(), psl_error, domain, s.timeout));
      const bool error = is_sender_error(sender_check::dmarc, e.result);
      failing += !error && e.result != "present";
      unknown += error;
      const auto advice = dmarc_advice(e);
      dmarc_json.push_back(json::object{{"domain", e.domain},
                                        {"result", e.result},
                                        {"policy", e.policy},
                                        {"subdomain_policy", e.subdomain_policy},
                                        {"pct", e.pct},
                                        {"rua", e.rua},
                                        {"found_at", e.found_at},
                                        {"organizational_domain", e.from_organizational_domain},
                                        {"detail", e.detail},
                                        {"advice", advice}});
      if (!text) continue;
      std::string what = domain + ": " + e.result;
      if (e.result == "present") {
        what += " at " + e.found_at + ", p=" + e.policy + " pct=" + std::to_string(e.pct) +
                (e.rua ? ", rua set" : ", no rua");
      } else if (!e.detail.empty()) {
        what += " (" + e.detail + ")";
      }
      print_line(*text, status_of(e.result == "present", error), "dmarc", -1, what);
      print_advice(text, advice);
    }
  }
  doc["egress_ips"] = json::value_from(egress_ips);
  doc["domains"] = json::value_from(plan.domains);
  doc["reverse_dns"] = std::move(rdns_json);
  doc["spf"] = std::move(spf_json);
  doc["dmarc"] = std::move(dmarc_json);
  std::string verdict;
  if (failing == 0 && unknown == 0) {
    verdict = egress_ips.empty() || plan.domains.empty() ? "nothing to check"
                                                         : "ready: every check passed";
  } else {
    verdict = std::to_string(failing) + " check(s) against the sender" +
              (unknown > 0 ? ", " + std::to_string(unknown) + " unknown (lookups failed)" : "");
  }
  return check_diagnosis{"sender", std::move(doc), "sender", std::move(verdict)};
}

}  // namespace smtp_exporter::exporter
