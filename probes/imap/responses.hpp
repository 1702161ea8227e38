// Pure parsers of the IMAP responses the delivery probe reads (RFC 3501, RFC 6154), and the choice
// of the Junk mailbox. Input is what libcurl hands over: for a custom command the untagged lines
// ("* LIST ...", "* SEARCH ...", "* 3 FETCH (...)"), CRLF-terminated; for a section FETCH the
// literal itself (the header block).
//
// Every function takes untrusted bytes: none throws, none reads past its input, and each bounds
// what it returns (`max_*`), reporting `truncated` instead of growing without end.
//
// Thread-safety: pure functions over values.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_exporter::probes::imap {

// One "* LIST (flags) delimiter name" line.
struct mailbox_info {
  std::string name;                // decoded from a quoted string or an atom; modified UTF-7 kept
  std::vector<std::string> flags;  // as sent, e.g. "\HasNoChildren", "\Junk"
  bool has_flag(std::string_view flag) const;  // ASCII case-insensitive
};

struct list_parse {
  std::vector<mailbox_info> mailboxes;
  std::size_t skipped = 0;  // LIST lines not understood (a name sent as a literal, bad syntax)
  bool truncated = false;   // more than max_mailboxes
};
list_parse parse_list(std::string_view untagged, std::size_t max_mailboxes);

// The numbers of every "* SEARCH n n ..." line (UIDs after UID SEARCH).
struct search_parse {
  std::vector<std::uint32_t> numbers;
  bool malformed = false;  // a SEARCH line with something other than numbers
  bool truncated = false;  // more than max_results
};
search_parse parse_search(std::string_view untagged, std::size_t max_results);

// "* 3 FETCH (UID 5 INTERNALDATE "07-Dec-2026 13:20:33 +0000")" lines, items in any order.
struct uid_date {
  std::uint32_t uid = 0;
  std::chrono::system_clock::time_point internal_date;
};
struct date_parse {
  std::vector<uid_date> messages;
  std::size_t skipped = 0;  // FETCH lines without both a UID and a valid INTERNALDATE
  bool truncated = false;
};
date_parse parse_internal_dates(std::string_view untagged, std::size_t max_results);

// "07-Dec-2026 13:20:33 +0000" (RFC 3501 date-time; the day may be " 7"), as UTC.
std::optional<std::chrono::system_clock::time_point> parse_imap_date_time(std::string_view text);
// The IMAP SEARCH date ("7-Dec-2026") of a UTC time point.
std::string imap_search_date(std::chrono::system_clock::time_point t);

// A header block (RFC 5322 fields, CRLF or LF lines, folded lines joined with one space, in
// order; the empty line ends it). Names keep their case; values are trimmed.
struct header_field {
  std::string name;
  std::string value;
};
struct header_parse {
  std::vector<header_field> fields;
  std::size_t skipped = 0;  // lines that are no field (no colon, or a continuation first)
  bool truncated = false;
};
header_parse parse_header_block(std::string_view block, std::size_t max_fields);
// Values of every field called `name` (case-insensitive), in block order (top first).
std::vector<std::string> header_values(const header_parse& headers, std::string_view name);

// The mailbox Junk mail lands in: the first with the \Junk special-use flag (RFC 6154), else the
// first of `fallback_names` present (compared case-insensitively, in the order given), else
// nullopt. INBOX is never the answer.
std::optional<std::string> choose_junk_mailbox(const std::vector<mailbox_info>& mailboxes,
                                               const std::vector<std::string>& fallback_names);
// The names tried when no mailbox has \Junk.
const std::vector<std::string>& default_junk_names();

// A string for an IMAP command argument: an atom-safe value is quoted with \" and \\ escaped;
// nullopt when it holds a byte a quoted string cannot carry (CR, LF, NUL, 8-bit).
std::optional<std::string> imap_quote(std::string_view value);

}  // namespace smtp_exporter::probes::imap
