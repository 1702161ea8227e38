#include "exporter/sender/metrics.hpp"

#include "exporter/render/metrics.hpp"

namespace smtp_exporter::exporter {

namespace {

using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr const char* from_last_round =
    " From the last round of the sender checks ([sender] interval); scrapes never trigger lookups.";

MetricFamily gauge(const char* name, const char* text) {
  return MetricFamily{name, std::string(text) + from_last_round, MetricType::Gauge, {}};
}

}  // namespace

std::vector<MetricFamily> sender_families(const sender_status& s) {
  std::vector<MetricFamily> out;
  if (!s.enabled) return out;

  auto rdns = gauge("smtp_egress_ip_reverse_dns_info",
                    "Always 1; result of the egress IP's forward-confirmed reverse DNS: match, "
                    "no_ptr, mismatch, generic, or the lookup's error (docs/metrics.md); name is "
                    "the confirming PTR name, else the first.");
  for (const auto& e : s.reverse_dns) {
    add_series(rdns, {{"ip", e.ip}, {"result", e.result}, {"name", e.name}}, 1);
  }
  auto spf = gauge("smtp_sender_domain_spf_result_info",
                   "Always 1; RFC 7208 result of the egress IP for the sender domain: pass, fail, "
                   "softfail, neutral, none, permerror, or temperror (lookups failed: unknown).");
  auto lookups = gauge("smtp_sender_domain_spf_dns_lookups",
                       "DNS-querying terms the last SPF evaluation counted toward RFC 7208's "
                       "limit of 10 (more is permerror).");
  for (const auto& e : s.spf) {
    add_series(spf, {{"domain", e.domain}, {"ip", e.ip}, {"result", e.result}}, 1);
    add_series(lookups, {{"domain", e.domain}, {"ip", e.ip}}, e.dns_lookups);
  }
  auto dmarc = gauge("smtp_sender_domain_dmarc_result_info",
                     "Always 1; the sender domain's DMARC record: present, absent (none at the "
                     "domain nor its organisational domain), malformed, multiple, or the "
                     "lookup's error.");
  auto policy = gauge("smtp_sender_domain_dmarc_policy_info",
                      "Always 1; the DMARC policy that applies to the domain (none, quarantine, "
                      "reject), or absent; no series when the record is malformed, multiple or "
                      "the lookup failed.");
  auto pct = gauge("smtp_sender_domain_dmarc_pct",
                   "pct= of the domain's DMARC record (100 when not written); only when present.");
  auto rua = gauge("smtp_sender_domain_dmarc_rua",
                   "1 when the domain's DMARC record asks for aggregate reports (rua=), else 0; "
                   "only when present.");
  for (const auto& e : s.dmarc) {
    add_series(dmarc, {{"domain", e.domain}, {"result", e.result}}, 1);
    if (e.result == "present") {
      add_series(policy, {{"domain", e.domain}, {"policy", e.policy}}, 1);
      add_series(pct, {{"domain", e.domain}}, e.pct);
      add_series(rua, {{"domain", e.domain}}, e.rua ? 1 : 0);
    } else if (e.result == "absent") {
      add_series(policy, {{"domain", e.domain}, {"policy", "absent"}}, 1);
    }
  }
  auto last = MetricFamily{"smtp_sender_check_last_run_timestamp_seconds",
                           "Unix time the last round of the check (reverse_dns, spf, dmarc) "
                           "ended; absent until one has.",
                           MetricType::Gauge, {}};
  for (std::size_t i = 0; i < sender_check_count; ++i) {
    if (s.last_run_timestamp[i] > 0) {
      add_series(last, {{"check", sender_check_names[i]}}, s.last_run_timestamp[i]);
    }
  }
  auto errors = MetricFamily{"smtp_sender_check_errors_total",
                             "Sender checks that ended in a DNS error (SPF: temperror), by check "
                             "and error; a series appears with its first error.",
                             MetricType::Counter, {}};
  for (const auto& [key, n] : s.errors_total) {
    add_series(errors, {{"check", key.first}, {"error", key.second}}, static_cast<double>(n));
  }
  auto queries = MetricFamily{"smtp_sender_dns_queries_total",
                              "DNS questions of the sender checks, by who answered: network "
                              "(sent to the resolvers) or cache (an answer kept for its TTL, or a "
                              "question already in flight).",
                              MetricType::Counter, {}};
  add_series(queries, {{"answered_by", "network"}}, static_cast<double>(s.queries_network));
  add_series(queries, {{"answered_by", "cache"}}, static_cast<double>(s.queries_cache));

  for (auto* f : {&rdns, &spf, &lookups, &dmarc, &policy, &pct, &rua, &last, &errors, &queries}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace smtp_exporter::exporter
