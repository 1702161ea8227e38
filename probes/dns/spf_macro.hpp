// SPF macros (RFC 7208 section 7) and domain-spec syntax, as pure functions over strings: the
// syntax check a record parse runs on every macro-string, the expansion check_host() runs on a
// domain-spec, and the rules that turn an expansion into a DNS name. Unit-tested with plain
// strings and fuzzed with the record parser (tests/fuzz/spf_record_fuzz.cpp).
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/address.hpp>

namespace smtp_exporter::probes {

// Where a macro-string stands: c, r and t are allowed only in explanation text (7.1/8), which
// may also hold spaces.
enum class spf_macro_context { domain, explanation };

// The values macros expand to; `ip` gives i, c and v.
struct spf_macro_values {
  std::string sender;         // s: "local@domain" ("postmaster@<helo>" for an empty MAIL FROM)
  std::string local_part;     // l: "postmaster" when the sender has none
  std::string sender_domain;  // o
  std::string domain;         // d: the domain check_host() is evaluating now
  boost::asio::ip::address ip;
  std::string validated_name = "unknown";  // p: computed by the evaluator before expanding
  std::string helo;                        // h
  std::string receiver = "unknown";        // r
  std::string timestamp;                   // t: seconds since the epoch
};

// An expansion longer than this is an error (a hostile record cannot make one grow without end).
inline constexpr std::size_t max_macro_expansion = 8192;

// The syntax error in a macro-string, or nullopt: '%' not followed by '{', '%', '_' or '-'; an
// unknown macro letter (c, r, t outside explanations); a zero digit transformer; an unclosed
// brace; a character that is not visible ASCII (a space only in explanations).
std::optional<std::string> macro_string_error(std::string_view text, spf_macro_context context);

// The syntax error in a domain-spec (7.1: macro-string domain-end), or nullopt. An empty
// domain-spec is an error; it must end in a macro-expand or in "." toplabel with an optional
// trailing dot, a toplabel being alphanumeric with a letter, or with an inner dash.
std::optional<std::string> domain_spec_error(std::string_view text);

// True when `text` holds a %{p} macro (which costs DNS lookups to compute).
bool uses_validated_name(std::string_view text);

// The expansion of a macro-string whose syntax is valid for `context`; nullopt (and the reason in
// *error) when it is not, or when the expansion would exceed max_macro_expansion.
std::optional<std::string> expand_macros(std::string_view text, const spf_macro_values& values,
                                         spf_macro_context context, std::string* error = nullptr);

// The name an expanded domain-spec asks DNS for (7.3/4.8): the trailing dot dropped, left labels
// dropped while longer than 253 characters, ASCII lower-cased.
std::string spf_target_name(std::string expanded);

// A name a DNS query can carry: 1 to 253 characters, labels of 1 to 63, no trailing dot.
bool is_queryable_name(std::string_view name);

}  // namespace smtp_exporter::probes
