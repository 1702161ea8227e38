#include "exporter/dnsbl/metrics.hpp"

#include "exporter/render/metrics.hpp"

namespace smtp_exporter::exporter {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr const char* from_last_lookup =
    " From the last lookup; scrapes never trigger lookups, which run on each zone's interval.";

std::string help(const char* text) { return std::string(text) + from_last_lookup; }

// ip and zone, then target for a target's address (egress series have no target label).
std::vector<ClientMetric::Label> check_labels(const dnsbl_check& c,
                                              std::initializer_list<ClientMetric::Label> extra = {}) {
  std::vector<ClientMetric::Label> labels{{"ip", c.ip}, {"zone", c.zone}};
  if (!c.target.empty()) labels.push_back({"target", c.target});
  labels.insert(labels.end(), extra.begin(), extra.end());
  return labels;
}

MetricFamily gauge(const char* name, std::string help_text) {
  return MetricFamily{name, std::move(help_text), MetricType::Gauge, {}};
}

}  // namespace

std::vector<MetricFamily> dnsbl_families(const dnsbl_status& s) {
  std::vector<MetricFamily> out;
  if (!s.enabled) return out;

  auto listed = gauge("smtp_dnsbl_listed",
                      help("1 if the IP is listed in the zone, 0 if not, from the last lookup that "
                           "gave an answer; an error since then changes neither. Absent until an "
                           "answer."));
  auto result = gauge("smtp_dnsbl_lookup_result_info",
                      help("Always 1; result is listed, not_listed, or the error of the last "
                           "lookup (docs/metrics.md)."));
  auto code = gauge("smtp_dnsbl_return_code",
                    help("While listed: the last octet of the listing's A record (the lowest when "
                         "the zone gives several)."));
  auto duration = gauge("smtp_dnsbl_lookup_duration_seconds", help("Duration of the last lookup."));
  auto last = gauge("smtp_dnsbl_last_lookup_timestamp_seconds",
                    "Unix time of the last lookup of the IP in the zone.");
  for (const auto& c : s.checks) {
    if (c.has_answer) add_series(listed, check_labels(c), c.listed ? 1 : 0);
    add_series(result, check_labels(c, {{"result", std::string(probes::to_string(c.result))}}), 1);
    if (c.listed && !c.return_codes.empty()) {
      add_series(code, check_labels(c), c.return_codes.front());
    }
    add_series(duration, check_labels(c), c.duration_seconds);
    add_series(last, check_labels(c), c.last_lookup_timestamp);
  }

  auto errors = MetricFamily{"smtp_dnsbl_lookup_errors_total",
                             "Lookups in the zone that ended in an error, by reason; a reason's "
                             "series appears with its first error.",
                             MetricType::Counter, {}};
  auto lookups = MetricFamily{"smtp_dnsbl_lookups_total", "Lookups sent to the zone.",
                              MetricType::Counter, {}};
  auto blocking = gauge("smtp_dnsbl_zone_blocking",
                        "1 if the zone is marked blocking (a listing there stops mail to the "
                        "provider: critical alert), else 0.");
  auto interval = gauge("smtp_dnsbl_zone_interval_seconds",
                        "The zone's configured lookup interval; for staleness alerts.");
  for (const auto& z : s.zones) {
    for (std::size_t r = 0; r < probes::dnsbl_result_count; ++r) {
      if (z.errors_total[r] == 0) continue;
      const auto reason = probes::to_string(static_cast<probes::dnsbl_result>(r));
      add_series(errors, {{"zone", z.name}, {"reason", std::string(reason)}},
                 static_cast<double>(z.errors_total[r]));
    }
    add_series(lookups, {{"zone", z.name}}, static_cast<double>(z.lookups_total));
    add_series(blocking, {{"zone", z.name}}, z.blocking ? 1 : 0);
    add_series(interval, {{"zone", z.name}}, z.interval_seconds);
  }

  auto egress = gauge("smtp_egress_ip_info",
                      "Always 1; an address this host's mail leaves from: configured, or "
                      "discovered over DNS (source is the discovery method).");
  for (const auto& e : s.egress) {
    add_series(egress,
               {{"ip", e.ip}, {"family", e.family == 6 ? "ipv6" : "ipv4"}, {"source", e.source}},
               1);
  }
  auto change = gauge("smtp_egress_ip_last_change_timestamp_seconds",
                      "Unix time at which discovery last found a different set of egress IPs; 0 "
                      "until it does.");
  MetricFamily discovery_success = gauge(
      "smtp_egress_ip_discovery_success",
      "1 if the last egress IP discovery found an address, 0 if it failed; absent until it ran.");
  MetricFamily discovery_errors{"smtp_egress_ip_discovery_errors_total",
                                "Egress IP discoveries that failed, by reason.",
                                MetricType::Counter, {}};
  if (!s.discovery_method.empty()) {
    add_series(change, {}, s.egress_last_change_timestamp);
    if (s.discovery_has_result) {
      add_series(discovery_success, {{"method", s.discovery_method}}, s.discovery_ok ? 1 : 0);
    }
    for (const auto& [reason, n] : s.discovery_errors_total) {
      add_series(discovery_errors, {{"method", s.discovery_method}, {"reason", reason}},
                 static_cast<double>(n));
    }
  }

  for (auto* f : {&listed, &result, &code, &duration, &last, &errors, &lookups, &blocking,
                  &interval, &egress, &change, &discovery_success, &discovery_errors}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace smtp_exporter::exporter
