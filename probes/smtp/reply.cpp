#include "probes/smtp/reply.hpp"

#include <utility>

namespace smtp_exporter::probes {
namespace {

constexpr std::size_t max_excerpt_length = 40;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Appends `c` to `out` in a form safe for a log line: a hostile server chooses these bytes.
void append_escaped(std::string& out, char c) {
  static constexpr char hex[] = "0123456789abcdef";
  switch (c) {
    case '\r': out += "\\r"; return;
    case '\n': out += "\\n"; return;
    case '\t': out += "\\t"; return;
    case '\\': out += "\\\\"; return;
    case '"': out += "\\\""; return;
    default: break;
  }
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) {
    out += c;
  } else {
    out += "\\x";
    out += hex[byte >> 4];
    out += hex[byte & 0xf];
  }
}

// At most max_excerpt_length characters of `line` then `lookahead` (up to its first LF), escaped,
// with "..." when cut; an escape sequence is never cut in half.
std::string excerpt(std::string_view line, std::string_view lookahead) {
  // Every byte escapes to at least one character, so one byte past the limit proves a cut.
  std::string raw(line.substr(0, max_excerpt_length + 1));
  for (char c : lookahead) {
    if (raw.size() > max_excerpt_length) break;
    raw += c;
    if (c == '\n') break;
  }
  std::string full;
  for (char c : raw) append_escaped(full, c);
  if (full.size() <= max_excerpt_length) return full;

  std::string cut;
  std::string piece;
  for (char c : raw) {
    piece.clear();
    append_escaped(piece, c);
    if (cut.size() + piece.size() > max_excerpt_length - 3) break;
    cut += piece;
  }
  return cut + "...";
}

// RFC 3463 "class.subject.detail" at the start of the first line's text: class 2, 4 or 5 and
// equal to the reply's class, subject and detail 1-3 digits; then a space or the end of the text
// (some servers send "250 2.0.0" alone).
std::string_view enhanced_code_of(std::string_view text, int code_class) {
  if (text.size() < 5 || !(text[0] == '2' || text[0] == '4' || text[0] == '5') ||
      text[0] - '0' != code_class || text[1] != '.') {
    return {};
  }
  std::size_t pos = 2;
  for (int part = 0; part < 2; ++part) {
    const std::size_t start = pos;
    while (pos < text.size() && is_digit(text[pos]) && pos - start < 3) ++pos;
    if (pos == start) return {};
    if (part == 0) {
      if (pos >= text.size() || text[pos] != '.') return {};
      ++pos;
    }
  }
  if (pos < text.size() && text[pos] != ' ') return {};
  return text.substr(0, pos);
}

}  // namespace

std::string smtp_reply::text() const {
  // The preamble's words are not the refusal's: a verdict quotes the line that decided it.
  if (preamble_code != 0 && !lines.empty()) return deciding_line();
  std::string joined;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (i != 0) joined += '\n';
    joined += lines[i];
  }
  return joined;
}

reply_parser::reply_parser(reply_limits limits) : limits_(limits) {}

void reply_parser::reset() {
  reply_ = smtp_reply{};
  line_.clear();
  error_.clear();
  bad_ = false;
  complete_ = false;
  line_code_ = 0;
}

smtp_reply reply_parser::take_reply() {
  smtp_reply taken = std::move(reply_);
  reset();
  return taken;
}

reply_parser::status reply_parser::parse(const char* data, std::size_t size,
                                         std::size_t& consumed) {
  consumed = 0;
  if (bad_) return status::bad;
  // A whole reply waits for take_reply()/reset(); parsing on would overwrite it.
  if (complete_) return status::good;
  for (std::size_t i = 0; i < size; ++i) {
    consumed = i + 1;
    const char c = data[i];
    const bool ok = c == '\n' ? end_line() : accept(c, data + i + 1, size - i - 1);
    if (!ok) return status::bad;
    if (complete_) return status::good;
  }
  return status::indeterminate;
}

bool reply_parser::fail(std::string message) {
  bad_ = true;
  error_ = std::move(message);
  // The partial line is of no further use and may be near the length limit.
  line_.clear();
  line_.shrink_to_fit();
  return false;
}

bool reply_parser::fail_malformed(std::string_view line, std::string_view lookahead) {
  return fail("malformed reply line: \"" + excerpt(line, lookahead) + "\"");
}

// A trailing CR in line_ is held back as a possible line ending: it counts toward the length only
// once a byte other than LF follows it.
bool reply_parser::accept(char c, const char* rest, std::size_t rest_size) {
  const std::size_t pos = line_.size();
  const std::string_view lookahead(rest, rest_size);
  const auto malformed = [&] {
    std::string seen = line_;
    seen += c;
    return fail_malformed(seen, lookahead);
  };

  if (pos < 3) {
    // RFC 5321 4.2: first digit 2-5, second digit 0-5; 1yz and 6yz+ are not replies.
    const bool valid = pos == 0   ? c >= '2' && c <= '5'
                       : pos == 1 ? c >= '0' && c <= '5'
                                  : is_digit(c);
    if (!valid) return malformed();
    if (pos == 2) {
      const int code = (line_[0] - '0') * 100 + (line_[1] - '0') * 10 + (c - '0');
      if (reply_.lines.empty()) {
        reply_.code = code;
      } else if (code != reply_.code) {
        // Only a refusal may end a positive reply; anything else is inconsistent at once.
        if (reply_.code / 100 != 2 || (code / 100 != 4 && code / 100 != 5)) {
          return fail("inconsistent reply codes");
        }
        line_code_ = code;
      }
    }
  } else if (pos == 3) {
    if (c != '-' && c != ' ' && c != '\r') return malformed();
    if (line_code_ != 0 && c == '-') return fail("inconsistent reply codes");
  } else if (pos == 4 && line_[3] == '\r') {
    // "250\r" then anything but LF: the CR stood where the separator belongs.
    return malformed();
  }

  const std::size_t content = pos + 1 - (c == '\r' ? 1 : 0);
  if (content > limits_.max_line_length) return fail("reply line too long");
  line_ += c;
  return true;
}

bool reply_parser::end_line() {
  std::string_view content(line_);
  if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
  if (content.size() < 3) return fail_malformed(line_ + '\n', {});

  const bool last = content.size() == 3 || content[3] == ' ';
  reply_.lines.emplace_back(content.size() > 4 ? content.substr(4) : std::string_view{});
  line_.clear();

  // One line more than allowed is caught as soon as a continuation promises it.
  const std::size_t count = reply_.lines.size();
  if (count > limits_.max_lines || (!last && count >= limits_.max_lines)) {
    return fail("too many reply lines");
  }
  if (last) {
    if (line_code_ != 0) {
      reply_.preamble_code = reply_.code;
      reply_.code = line_code_;
      line_code_ = 0;
    }
    reply_.enhanced_code =
        std::string(enhanced_code_of(reply_.deciding_line(), reply_.code_class()));
    complete_ = true;
  }
  return true;
}

}  // namespace smtp_exporter::probes
