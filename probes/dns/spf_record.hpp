// An SPF record (RFC 7208 sections 4.5, 4.6, 5, 6) read into terms: record selection and the
// whole-record syntax check that must pass before any term is evaluated ("detect errors
// anywhere"). Pure: unit-tested with plain strings and fuzzed (tests/fuzz/spf_record_fuzz.cpp).
//
// Thread-safety: pure functions; a parsed record is a value.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/ip/address.hpp>

namespace smtp_exporter::probes {

enum class spf_qualifier : char { pass = '+', fail = '-', softfail = '~', neutral = '?' };

enum class spf_mechanism_kind { all, include, a, mx, ptr, ip4, ip6, exists };

struct spf_mechanism {
  spf_qualifier qualifier = spf_qualifier::pass;
  spf_mechanism_kind kind = spf_mechanism_kind::all;
  // include, a, mx, ptr, exists: the domain-spec as written (macros unexpanded); empty for a,
  // mx and ptr without one (the current domain).
  std::string domain_spec;
  boost::asio::ip::address network;  // ip4, ip6
  int cidr4 = 32;                    // a, mx, ip4
  int cidr6 = 128;                   // a, mx, ip6
  std::string text;                  // the term as written, e.g. "-ip4:192.0.2.0/24"
  // The mechanisms that make check_host() ask DNS (4.6.4): include, a, mx, ptr, exists.
  bool counts_as_lookup() const;
};

struct spf_record {
  std::vector<spf_mechanism> mechanisms;
  std::optional<std::string> redirect;     // domain-spec
  std::optional<std::string> explanation;  // exp= domain-spec: syntax-checked, never fetched
};

// Record selection (4.5): a TXT string that starts "v=spf1" (any case) followed by a space or
// the end.
bool is_spf_record(std::string_view txt);

// Records longer than this are refused (permerror) rather than parsed: a bound on what a hostile
// zone can make the evaluator hold (an ordinary record is under 512 bytes).
inline constexpr std::size_t max_spf_record_size = 16384;

// The terms of a selected record, or nullopt with the first syntax error in *error: an unknown
// mechanism, a bad CIDR length or address, a domain-spec or macro syntax error, a modifier name
// or value that is not valid, redirect= or exp= given twice, a character outside printable ASCII.
std::optional<spf_record> parse_spf_record(std::string_view text, std::string* error = nullptr);

}  // namespace smtp_exporter::probes
