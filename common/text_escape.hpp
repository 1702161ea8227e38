// Text made safe for where it goes: HTML, a URL's query, a log or a label. Every page, answer
// and message of the exporter escapes through these, so there is one escaper to get right.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

// Escapes &, <, >, " and ' for HTML text and attribute values.
std::string html_escape(std::string_view text);
// Percent-encodes everything but RFC 3986's unreserved characters, for a query value.
std::string url_encode(std::string_view text);
// The decoded value of `name` in a query string ("a=1&target=x%20y"); "+" is a space.
std::optional<std::string> query_parameter(std::string_view query, std::string_view name);

// At most `max` bytes of server text, non-printable bytes as '?': servers choose these bytes.
std::string printable_excerpt(std::string_view text, std::size_t max);

}  // namespace smtp_exporter
