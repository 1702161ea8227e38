// The receiving side's verdict: a parser of one Authentication-Results header value (RFC 8601).
//
//   mx.google.com; spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=a@example.org;
//     dkim=fail reason="bad signature" header.d=example.org; dmarc=none
//
// gives authserv-id "mx.google.com" and three results, each with its method, result, reason and
// properties. Comments (nested, with escapes) are dropped; quoted strings are decoded. A result
// the parser cannot read is skipped (counted in `skipped`) and parsing goes on at the next ';',
// because one odd method must not hide the spf/dkim/dmarc verdicts around it.
//
// Which header to trust (the top one whose authserv-id the operator trusts: earlier ones on the
// path can be forged) is the caller's choice, not this parser's.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes::imap {

struct auth_property {
  std::string type;   // "smtp", "header", "body", "policy"
  std::string name;   // "mailfrom", "d", "from"
  std::string value;  // decoded
};

struct auth_method_result {
  std::string method;  // lower case: "spf", "dkim", "dmarc", "arc"; a "/1" version is dropped
  std::string result;  // lower case: "pass", "fail", "softfail", "none", "temperror", ...
  std::string reason;  // decoded; empty when absent
  std::vector<auth_property> properties;
};

struct auth_results {
  std::string authserv_id;  // as written (compare case-insensitively: it is a domain)
  std::vector<auth_method_result> results;  // in header order
  bool none = false;        // the header said "; none"
  std::size_t skipped = 0;  // results not understood
  bool truncated = false;   // more than max_results
};

// nullopt when there is no authserv-id (an empty or unreadable value).
std::optional<auth_results> parse_authentication_results(std::string_view value,
                                                         std::size_t max_results = 32);

// The first result of `method` ("spf", "dkim", "dmarc"), nullptr when absent.
const auth_method_result* find_method(const auth_results& results, std::string_view method);

}  // namespace smtp_exporter::probes::imap
