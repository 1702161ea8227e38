#include "probes/imap/responses.hpp"

#include <array>
#include <charconv>
#include <ctime>

namespace smtp_exporter::probes::imap {

namespace {

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Splits on LF, dropping one CR before it.
template <typename F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!f(line)) return;
    if (end == std::string_view::npos) return;
    text.remove_prefix(end + 1);
  }
}

// A cursor over one response line.
struct cursor {
  std::string_view s;
  std::size_t i = 0;

  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  void skip_spaces() {
    while (!done() && s[i] == ' ') ++i;
  }
  bool eat(char c) {
    if (peek() != c) return false;
    ++i;
    return true;
  }
  // An atom-ish run: up to a space, a parenthesis or the end.
  std::string_view word() {
    std::size_t start = i;
    while (!done() && s[i] != ' ' && s[i] != '(' && s[i] != ')') ++i;
    return s.substr(start, i - start);
  }
  // A quoted string with \" and \\ escapes; nullopt when unterminated.
  std::optional<std::string> quoted() {
    if (!eat('"')) return std::nullopt;
    std::string out;
    while (!done()) {
      char c = s[i++];
      if (c == '"') return out;
      if (c == '\\') {
        if (done()) return std::nullopt;
        c = s[i++];
      }
      out.push_back(c);
    }
    return std::nullopt;
  }
  // A quoted string, NIL or an atom; nullopt for a literal ({n}) or a syntax error.
  std::optional<std::string> astring() {
    if (peek() == '"') return quoted();
    if (peek() == '{') return std::nullopt;
    auto w = word();
    if (w.empty()) return std::nullopt;
    return std::string(w);
  }
};

std::optional<std::uint32_t> to_u32(std::string_view s) {
  std::uint32_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<mailbox_info> parse_list_line(std::string_view line) {
  cursor c{line};
  if (!istarts_with(line, "* LIST ")) return std::nullopt;
  c.i = 7;
  c.skip_spaces();
  if (!c.eat('(')) return std::nullopt;
  mailbox_info box;
  for (;;) {
    c.skip_spaces();
    if (c.eat(')')) break;
    auto flag = c.word();
    if (flag.empty()) return std::nullopt;  // unterminated or a stray '('
    if (box.flags.size() < 32) box.flags.emplace_back(flag);
  }
  c.skip_spaces();
  if (c.peek() == '"') {
    if (!c.quoted()) return std::nullopt;
  } else if (!iequals(c.word(), "NIL")) {
    return std::nullopt;
  }
  c.skip_spaces();
  auto name = c.astring();
  if (!name || name->empty()) return std::nullopt;
  c.skip_spaces();
  if (!c.done()) return std::nullopt;
  box.name = std::move(*name);
  return box;
}

constexpr std::array<std::string_view, 12> months = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool digits(std::string_view s, std::size_t n, int& out) {
  if (s.size() != n) return false;
  out = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    out = out * 10 + (ch - '0');
  }
  return true;
}

}  // namespace

bool mailbox_info::has_flag(std::string_view flag) const {
  for (const auto& f : flags)
    if (iequals(f, flag)) return true;
  return false;
}

list_parse parse_list(std::string_view untagged, std::size_t max_mailboxes) {
  list_parse out;
  for_each_line(untagged, [&](std::string_view line) {
    if (line.empty()) return true;
    if (!istarts_with(line, "* LIST ")) return true;  // another untagged response
    auto box = parse_list_line(line);
    if (!box) {
      ++out.skipped;
      return true;
    }
    if (out.mailboxes.size() >= max_mailboxes) {
      out.truncated = true;
      return false;
    }
    out.mailboxes.push_back(std::move(*box));
    return true;
  });
  return out;
}

search_parse parse_search(std::string_view untagged, std::size_t max_results) {
  search_parse out;
  for_each_line(untagged, [&](std::string_view line) {
    if (!istarts_with(line, "* SEARCH")) return true;
    cursor c{line, 8};
    if (!c.done() && c.peek() != ' ') {
      out.malformed = true;
      return true;
    }
    for (;;) {
      c.skip_spaces();
      if (c.done()) break;
      auto n = to_u32(c.word());
      if (!n || *n == 0) {
        out.malformed = true;
        return true;
      }
      if (out.numbers.size() >= max_results) {
        out.truncated = true;
        return false;
      }
      out.numbers.push_back(*n);
      if (c.peek() == '(' || c.peek() == ')') {  // a MODSEQ list: not asked for
        out.malformed = true;
        return true;
      }
    }
    return true;
  });
  return out;
}

std::optional<std::chrono::system_clock::time_point> parse_imap_date_time(std::string_view text) {
  // dd-Mon-yyyy hh:mm:ss +zzzz, the day space-padded or not.
  if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  auto dash1 = text.find('-');
  if (dash1 == std::string_view::npos || dash1 == 0 || dash1 > 2) return std::nullopt;
  int day = 0, year = 0, hour = 0, minute = 0, second = 0, zh = 0, zm = 0;
  if (!digits(text.substr(0, dash1), dash1, day)) return std::nullopt;
  text.remove_prefix(dash1 + 1);
  if (text.size() != 3 + 1 + 4 + 1 + 8 + 1 + 5) return std::nullopt;
  int month = -1;
  for (std::size_t m = 0; m < months.size(); ++m)
    if (iequals(text.substr(0, 3), months[m])) month = static_cast<int>(m);
  if (month < 0 || text[3] != '-' || text[8] != ' ' || text[11] != ':' || text[14] != ':' ||
      text[17] != ' ' || (text[18] != '+' && text[18] != '-'))
    return std::nullopt;
  if (!digits(text.substr(4, 4), 4, year) || !digits(text.substr(9, 2), 2, hour) ||
      !digits(text.substr(12, 2), 2, minute) || !digits(text.substr(15, 2), 2, second) ||
      !digits(text.substr(19, 2), 2, zh) || !digits(text.substr(21, 2), 2, zm))
    return std::nullopt;
  // Years past 2200 would overflow system_clock's nanoseconds (found by the fuzzer).
  if (day < 1 || day > 31 || year < 1970 || year > 2200 || hour > 23 || minute > 59 ||
      second > 60 || zh > 23 || zm > 59)
    return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  long offset = (zh * 60L + zm) * 60L;
  if (text[18] == '+') t -= offset; else t += offset;
  return std::chrono::system_clock::from_time_t(t);
}

std::string imap_search_date(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  return std::to_string(tm.tm_mday) + "-" + std::string(months[static_cast<std::size_t>(tm.tm_mon)]) +
         "-" + std::to_string(tm.tm_year + 1900);
}

date_parse parse_internal_dates(std::string_view untagged, std::size_t max_results) {
  date_parse out;
  for_each_line(untagged, [&](std::string_view line) {
    if (!istarts_with(line, "* ")) return true;
    cursor c{line, 2};
    if (!to_u32(c.word())) return true;
    c.skip_spaces();
    if (!iequals(c.word(), "FETCH")) return true;
    c.skip_spaces();
    if (!c.eat('(')) {
      ++out.skipped;
      return true;
    }
    std::optional<std::uint32_t> uid;
    std::optional<std::chrono::system_clock::time_point> date;
    bool bad = false;
    while (!bad) {
      c.skip_spaces();
      if (c.eat(')') || c.done()) break;
      auto key = c.word();
      c.skip_spaces();
      if (iequals(key, "UID")) {
        uid = to_u32(c.word());
        bad = !uid;
      } else if (iequals(key, "INTERNALDATE")) {
        auto q = c.quoted();
        if (q) date = parse_imap_date_time(*q);
        bad = !date;
      } else if (iequals(key, "FLAGS")) {  // sent unasked after a STORE elsewhere: skip the list
        if (!c.eat('(')) { bad = true; break; }
        while (!c.done() && c.peek() != ')') ++c.i;
        bad = !c.eat(')');
      } else {
        bad = true;
      }
    }
    if (bad || !uid || !date || *uid == 0) {
      ++out.skipped;
      return true;
    }
    if (out.messages.size() >= max_results) {
      out.truncated = true;
      return false;
    }
    out.messages.push_back({*uid, *date});
    return true;
  });
  return out;
}

header_parse parse_header_block(std::string_view block, std::size_t max_fields) {
  header_parse out;
  bool in_field = false;  // the last line was a field, so a continuation belongs to it
  for_each_line(block, [&](std::string_view line) {
    if (line.empty()) return false;  // end of the header
    if (line.front() == ' ' || line.front() == '\t') {
      if (!in_field) {
        ++out.skipped;
        return true;
      }
      auto& value = out.fields.back().value;
      std::size_t start = line.find_first_not_of(" \t");
      if (start == std::string_view::npos) return true;
      if (!value.empty()) value.push_back(' ');
      value.append(line.substr(start));
      return true;
    }
    auto colon = line.find(':');
    auto name = line.substr(0, colon);
    bool valid = colon != std::string_view::npos && colon > 0;
    for (char ch : name)
      if (ch <= ' ' || ch >= 127) valid = false;
    if (!valid) {
      ++out.skipped;
      in_field = false;
      return true;
    }
    if (out.fields.size() >= max_fields) {
      out.truncated = true;
      return false;
    }
    auto value = line.substr(colon + 1);
    std::size_t start = value.find_first_not_of(" \t");
    value = start == std::string_view::npos ? std::string_view() : value.substr(start);
    out.fields.push_back({std::string(name), std::string(value)});
    in_field = true;
    return true;
  });
  for (auto& f : out.fields)
    while (!f.value.empty() && (f.value.back() == ' ' || f.value.back() == '\t')) f.value.pop_back();
  return out;
}

std::vector<std::string> header_values(const header_parse& headers, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& f : headers.fields)
    if (iequals(f.name, name)) out.push_back(f.value);
  return out;
}

std::optional<std::string> choose_junk_mailbox(const std::vector<mailbox_info>& mailboxes,
                                               const std::vector<std::string>& fallback_names) {
  for (const auto& box : mailboxes)
    if (box.has_flag("\\Junk") && !iequals(box.name, "INBOX")) return box.name;
  for (const auto& wanted : fallback_names)
    for (const auto& box : mailboxes)
      if (iequals(box.name, wanted) && !iequals(box.name, "INBOX") && !box.has_flag("\\Noselect") &&
          !box.has_flag("\\NonExistent"))
        return box.name;
  return std::nullopt;
}

const std::vector<std::string>& default_junk_names() {
  static const std::vector<std::string> names{"Junk", "Spam", "[Gmail]/Spam", "Junk E-mail"};
  return names;
}

std::optional<std::string> imap_quote(std::string_view value) {
  std::string out = "\"";
  for (char ch : value) {
    auto u = static_cast<unsigned char>(ch);
    if (u == 0 || u == '\r' || u == '\n' || u >= 0x80) return std::nullopt;
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
  return out;
}

}  // namespace smtp_exporter::probes::imap
