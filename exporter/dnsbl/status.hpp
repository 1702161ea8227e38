// What the DNSBL runner publishes and scrapes, the status page and logs read: every (IP, zone)
// result, the zones' counters, the egress IPs and their discovery.
//
// Thread-safety: plain values; a published dnsbl_status is immutable (shared_ptr<const>).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "probes/dns/dnsbl.hpp"

namespace smtp_exporter::exporter {

// One IP in one zone, for the egress (target empty) or for a target's address.
struct dnsbl_check {
  std::string ip;
  std::string zone;
  std::string target;  // empty for egress IPs
  probes::dnsbl_result result = probes::dnsbl_result::dns_error;
  // From the last lookup that gave an answer (listed or not_listed); an error since then does
  // not change them, so an error never reads as "not listed", nor clears a listing.
  bool has_answer = false;
  bool listed = false;
  std::vector<int> return_codes;  // while listed
  std::string txt;                // the listing's TXT record, for humans (never a label)
  std::string detail;             // what decided an error (the answer, c-ares' text)
  double duration_seconds = 0;    // of the last lookup
  double last_lookup_timestamp = 0;
};

struct dnsbl_zone_status {
  std::string name;
  bool blocking = false;
  std::string delist_url;
  double interval_seconds = 0;
  std::uint64_t lookups_total = 0;
  std::array<std::uint64_t, probes::dnsbl_result_count> errors_total{};  // by result
};

struct egress_address {
  std::string ip;
  int family = 4;
  std::string source;  // "configured", or the discovery method
};

struct dnsbl_status {
  bool enabled = false;
  std::vector<egress_address> egress;
  std::string discovery_method;  // empty: no discovery
  bool discovery_has_result = false;
  bool discovery_ok = false;
  std::string discovery_error;  // the reason of the last failed discovery
  std::string discovery_detail;
  std::map<std::string, std::uint64_t> discovery_errors_total;
  double egress_last_change_timestamp = 0;  // 0 until the discovered set changes
  std::vector<dnsbl_zone_status> zones;
  std::vector<dnsbl_check> checks;  // ordered by target (egress first), ip, zone
};

}  // namespace smtp_exporter::exporter
