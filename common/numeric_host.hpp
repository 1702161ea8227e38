// Hosts that a resolver may read as an IPv4 address although they are not one in canonical form:
// "0127.0.0.1" and "127.000.000.001" (c-ares 1.18 answers 127.0.0.1 for both without a query),
// "127.1", "0x7f.0.0.1", "2130706433", "0x7f000001" (inet_aton's forms, which other resolvers and
// libraries accept), "127.0.0.1." (a trailing dot). An allow-list that refuses "127.0.0.1" must
// not let one of them through as a host name, so every place that takes a host from a person or
// a request (config hosts, allowed_hosts patterns, /probe targets, diagnose) and the resolver
// itself refuse them with numeric_host_message.
//
// The rule: a name whose last label (after one trailing dot) is all digits, or "0x" followed by
// hexadecimal digits, is numeric; no top-level domain is (RFC 3696 section 2). A numeric host is
// allowed only as a canonical dotted quad: four decimal numbers of 0..255 without leading zeros
// and without a trailing dot. IPv6 literals (with a ':') are not concerned.
//
// Thread-safety: pure functions.
#pragma once

#include <string_view>

namespace smtp_exporter {

// Whether `label` reads as a number to inet_aton: decimal digits, or 0x/0X and hex digits.
bool is_numeric_label(std::string_view label);

// True for a numeric host that is not a canonical dotted-quad IPv4 address (the list above).
bool is_noncanonical_numeric_host(std::string_view host);

// What every refusal says, after "host" or "host pattern".
inline constexpr std::string_view numeric_host_message =
    "looks like an IPv4 address but is not one in canonical form: write four decimal numbers "
    "without leading zeros, e.g. 127.0.0.1 (a number is never a host name)";

}  // namespace smtp_exporter
