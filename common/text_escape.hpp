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

// Text for a terminal, whatever it holds: every character a terminal may act on becomes '?'
// (one per character): C0 controls but newline and tab, DEL, C1 controls (U+0080 to U+009F:
// U+009B is CSI), bidirectional controls (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to
// U+2069), the line and paragraph separators, and every byte that is not well-formed UTF-8
// (a lone 0x9B is CSI to an 8-bit terminal). Printable UTF-8 passes unchanged, so JSON stays
// JSON. Fed in pieces (a stream's writes): a character cut between two pieces is held until the
// next; finish() turns what is held into '?'.
//
// Thread-safety: one filter per stream, used by one thread at a time.
class terminal_text_filter {
 public:
  std::string feed(std::string_view bytes);
  std::string finish();

 private:
  std::string held_;  // the start of a character whose last bytes have not come yet
};

}  // namespace smtp_exporter
