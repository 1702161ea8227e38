// What the sender-readiness runner publishes and scrapes, the status page and diagnose read: the
// last verdict of each egress IP's reverse DNS, of SPF per (domain, IP), of each domain's DMARC.
//
// A verdict's `result` is the check's (match, pass, present...) or, when the lookups failed, the
// DNS error class: an error is never read as a verdict (SPF calls it temperror).
//
// Thread-safety: plain values; a published sender_status is immutable (shared_ptr<const>).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace smtp_exporter::exporter {

enum class sender_check : std::uint8_t { reverse_dns, spf, dmarc };
inline constexpr std::size_t sender_check_count = 3;
inline constexpr std::array<const char*, sender_check_count> sender_check_names{"reverse_dns",
                                                                               "spf", "dmarc"};

struct reverse_dns_entry {
  std::string ip;
  std::string result;  // match, no_ptr, mismatch, generic, or an error class
  std::string name;    // the confirming PTR name, else the first, else ""
  std::string detail;
  double timestamp = 0;
};

struct spf_entry {
  std::string domain;
  std::string ip;
  std::string result;  // pass, fail, softfail, neutral, none, permerror, temperror
  std::string detail;
  std::string mechanism;  // the matching top-level mechanism, or ""
  int dns_lookups = 0;
  double timestamp = 0;
};

struct dmarc_entry {
  std::string domain;
  std::string result;  // present, absent, malformed, multiple, or an error class
  std::string policy;  // the effective policy when present
  std::string subdomain_policy;
  int pct = 100;
  bool rua = false;
  std::string found_at;  // "_dmarc.example.com"
  bool from_organizational_domain = false;
  std::string detail;
  double timestamp = 0;
};

struct sender_status {
  bool enabled = false;
  std::vector<std::string> domains;     // checked, in order
  std::vector<std::string> egress_ips;  // [sender] egress_ips and [dnsbl]'s, in order
  std::string helo;
  std::string setup_error;  // the resolver or the Public Suffix List could not be loaded
  std::vector<reverse_dns_entry> reverse_dns;  // by ip
  std::vector<spf_entry> spf;                  // by domain, ip
  std::vector<dmarc_entry> dmarc;              // by domain
  std::array<double, sender_check_count> last_run_timestamp{};  // 0 until a round ends
  std::map<std::pair<std::string, std::string>, std::uint64_t> errors_total;  // (check, error)
  std::uint64_t queries_network = 0;  // DNS questions sent
  std::uint64_t queries_cache = 0;    // answered from the cache (or joined a question in flight)
};

// An error class rather than a verdict (for counting and the "lookups fail" wording).
bool is_sender_error(sender_check check, const std::string& result);

}  // namespace smtp_exporter::exporter
