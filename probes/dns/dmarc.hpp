// DMARC policy discovery (RFC 7489 6.6.3) for a sender domain: the TXT record at
// _dmarc.<domain>, else at _dmarc.<organizational domain> (the Public Suffix List's
// registrable domain). Bulk senders to Gmail and Yahoo need one (p=none is enough).
//
// Thread-safety: parse_dmarc is pure; check_dmarc runs on the dns_lookup's executor.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/awaitable.hpp>

#include "probes/dns/dns_lookup.hpp"
#include "probes/dns/public_suffix.hpp"

namespace smtp_exporter::probes {

struct dmarc_record {
  std::string policy;            // p: "none", "quarantine" or "reject" (lower case)
  std::string subdomain_policy;  // sp, or "" when the record has none (p applies)
  int pct = 100;
  bool rua = false;              // an rua= tag with a value is present
};

// A TXT string that starts a DMARC record: its first tag is v=DMARC1 (6.6.3: others are ignored).
bool is_dmarc_record(std::string_view txt);

// RFC 7489 6.3/6.4: a tag=value list separated by ';' (spaces and tabs around tags, '=' and ';'
// allowed), v=DMARC1 first. nullopt with the reason in *error when p is missing or not none,
// quarantine or reject; sp likewise when present; pct is not 0-100; adkim or aspf is not r or
// s; a tag has no '=' or appears twice. Unknown tags are ignored (6.3).
std::optional<dmarc_record> parse_dmarc(std::string_view txt, std::string* error = nullptr);

struct dmarc_outcome {
  enum class status { present, absent, malformed, multiple, error };
  status outcome = status::error;
  dmarc_record record;      // when present
  std::string found_at;     // "_dmarc.example.com": where the record(s) were found
  bool from_organizational_domain = false;
  // The policy that applies to the domain: sp of a record found at the organizational domain
  // (for a subdomain), else p; "" unless present.
  std::string policy() const;
  // status error: the DNS error class (dns_error_class) or "invalid_domain";
  // status malformed: parse_dmarc's reason.
  std::string error;
  std::string detail;
  int queries = 0;  // DNS queries asked through the dns_lookup
};
std::string_view dmarc_status_name(dmarc_outcome::status s);  // "present", "absent", ...

// Asks _dmarc.<domain> TXT, then, when that holds no DMARC record and the organizational domain
// differs, _dmarc.<organizational domain> TXT. A DNS error at either step is status error, never
// absent. Ends by `timeout`.
boost::asio::awaitable<dmarc_outcome> check_dmarc(dns_lookup& dns, const public_suffix_list& psl,
                                                  std::string domain,
                                                  std::chrono::milliseconds timeout);

}  // namespace smtp_exporter::probes
