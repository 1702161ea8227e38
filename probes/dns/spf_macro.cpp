#include "probes/dns/spf_macro.hpp"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "common/ascii.hpp"
#include "common/text_escape.hpp"
#include "probes/dns/address_names.hpp"

namespace smtp_exporter::probes {

namespace {

// One %{...} macro-expand, its transformers read.
struct macro {
  char letter = 0;  // lower case
  bool url_escape = false;
  std::size_t keep = 0;  // rightmost parts to keep; 0: all
  bool reverse = false;
  std::string_view delimiters;
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }

std::string char_name(unsigned char c) {
  if (c > 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "0x%02x", c);
  return buffer;
}

// Walks a macro-string in order, handing each literal character, escape ("%%" "%_" "%-") and
// macro to `sink`; the first syntax error ends the walk and is returned.
template <typename Sink>
std::optional<std::string> scan(std::string_view text, spf_macro_context context, Sink&& sink) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c != '%') {
      const bool visible = c > 0x20 && c < 0x7f;
      if (!visible && !(c == ' ' && context == spf_macro_context::explanation)) {
        return "invalid character " + char_name(c);
      }
      if (!sink.literal(text[i])) return "macro expansion too long";
      ++i;
      continue;
    }
    if (i + 1 >= text.size()) return std::string("'%' at the end");
    const char next = text[i + 1];
    if (next == '%' || next == '_' || next == '-') {
      if (!sink.escape(next == '%' ? "%" : next == '_' ? " " : "%20")) {
        return "macro expansion too long";
      }
      i += 2;
      continue;
    }
    if (next != '{') return "'%' followed by " + char_name(static_cast<unsigned char>(next));
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) return std::string("unclosed '%{'");
    const std::string_view body = text.substr(i + 2, close - i - 2);
    if (body.empty()) return std::string("empty macro '%{}'");
    macro m;
    m.letter = ascii_lower(body[0]);
    m.url_escape = body[0] >= 'A' && body[0] <= 'Z';
    constexpr std::string_view anywhere = "slodipvh";
    constexpr std::string_view explanation_only = "crt";
    if (explanation_only.find(m.letter) != std::string_view::npos) {
      if (context != spf_macro_context::explanation) {
        return "macro %{" + std::string(1, body[0]) + "} is allowed in exp text only";
      }
    } else if (anywhere.find(m.letter) == std::string_view::npos) {
      return "unknown macro letter " + char_name(static_cast<unsigned char>(body[0]));
    }
    std::size_t j = 1;
    bool digits = false;
    for (; j < body.size() && is_digit(body[j]); ++j) {
      digits = true;
      m.keep = std::min<std::size_t>(m.keep * 10 + static_cast<std::size_t>(body[j] - '0'), 1000);
    }
    if (digits && m.keep == 0) return std::string("macro digit transformer of zero");
    if (j < body.size() && ascii_lower(body[j]) == 'r') {
      m.reverse = true;
      ++j;
    }
    m.delimiters = body.substr(j);
    for (const char d : m.delimiters) {
      if (std::string_view(".-+,/_=").find(d) == std::string_view::npos) {
        return "invalid macro delimiter " + char_name(static_cast<unsigned char>(d));
      }
    }
    if (!sink.expand(m)) return "macro expansion too long";
    i = close + 1;
  }
  return std::nullopt;
}

// Records only whether the last thing was a macro-expand (domain-end's second form).
struct syntax_sink {
  bool ends_in_macro = false;
  bool p_used = false;
  bool literal(char) {
    ends_in_macro = false;
    return true;
  }
  bool escape(std::string_view) {
    ends_in_macro = true;
    return true;
  }
  bool expand(const macro& m) {
    p_used = p_used || m.letter == 'p';
    ends_in_macro = true;
    return true;
  }
};

// RFC 7208 7.3: split on the delimiters (default "."), reverse, keep the rightmost parts, join
// with ".".
std::string transformed(std::string_view value, const macro& m) {
  if (m.keep == 0 && !m.reverse && m.delimiters.empty()) return std::string(value);
  const std::string_view delimiters = m.delimiters.empty() ? "." : m.delimiters;
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || delimiters.find(value[i]) != std::string_view::npos) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  if (m.reverse) std::reverse(parts.begin(), parts.end());
  const std::size_t first = m.keep != 0 && m.keep < parts.size() ? parts.size() - m.keep : 0;
  std::string out;
  for (std::size_t i = first; i < parts.size(); ++i) {
    if (i != first) out += '.';
    out += parts[i];
  }
  return out;
}

struct expand_sink {
  const spf_macro_values& values;
  std::string out;
  bool fits(std::size_t more) const { return out.size() + more <= max_macro_expansion; }
  bool literal(char c) {
    if (!fits(1)) return false;
    out += c;
    return true;
  }
  bool escape(std::string_view text) {
    if (!fits(text.size())) return false;
    out += text;
    return true;
  }
  bool expand(const macro& m) {
    std::string value;
    switch (m.letter) {
      case 's': value = values.sender; break;
      case 'l': value = values.local_part; break;
      case 'o': value = values.sender_domain; break;
      case 'd': value = values.domain; break;
      case 'i': value = dotted_address_labels(values.ip); break;
      case 'p': value = values.validated_name; break;
      case 'v': value = unmapped(values.ip).is_v4() ? "in-addr" : "ip6"; break;
      case 'h': value = values.helo; break;
      case 'c': value = unmapped(values.ip).to_string(); break;
      case 'r': value = values.receiver; break;
      case 't': value = values.timestamp; break;
      default: break;
    }
    if (value.size() > max_macro_expansion) return false;
    value = transformed(value, m);
    if (m.url_escape) value = url_encode(value);  // 7.3: the unreserved set kept
    return escape(value);
  }
};

bool is_toplabel(std::string_view label) {
  if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
  bool alpha = false, dash = false;
  for (const char c : label) {
    if (c == '-') {
      dash = true;
    } else if (!is_alnum(c)) {
      return false;
    }
    alpha = alpha || is_alpha(c);
  }
  return alpha || dash;
}

}  // namespace

std::optional<std::string> macro_string_error(std::string_view text, spf_macro_context context) {
  syntax_sink sink;
  return scan(text, context, sink);
}

std::optional<std::string> domain_spec_error(std::string_view text) {
  if (text.empty()) return std::string("empty domain-spec");
  syntax_sink sink;
  if (auto error = scan(text, spf_macro_context::domain, sink)) return error;
  if (sink.ends_in_macro) return std::nullopt;
  std::string_view rest = text;
  if (rest.back() == '.') rest.remove_suffix(1);
  const std::size_t dot = rest.rfind('.');
  if (dot == std::string_view::npos || !is_toplabel(rest.substr(dot + 1))) {
    return "domain-spec \"" + std::string(text) + "\" must end in a macro or a valid top label";
  }
  return std::nullopt;
}

bool uses_validated_name(std::string_view text) {
  syntax_sink sink;
  scan(text, spf_macro_context::explanation, sink);
  return sink.p_used;
}

std::optional<std::string> expand_macros(std::string_view text, const spf_macro_values& values,
                                         spf_macro_context context, std::string* error) {
  expand_sink sink{values, {}};
  if (auto problem = scan(text, context, sink)) {
    if (error) *error = std::move(*problem);
    return std::nullopt;
  }
  return std::move(sink.out);
}

std::string spf_target_name(std::string expanded) {
  if (!expanded.empty() && expanded.back() == '.') expanded.pop_back();
  while (expanded.size() > 253) {
    const std::size_t dot = expanded.find('.');
    if (dot == std::string::npos) break;
    expanded.erase(0, dot + 1);
  }
  for (char& c : expanded) c = ascii_lower(c);
  return expanded;
}

bool is_queryable_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= name.size(); ++i) {
    if (i == name.size() || name[i] == '.') {
      const std::size_t length = i - start;
      if (length == 0 || length > 63) return false;
      start = i + 1;
    }
  }
  return true;
}

}  // namespace smtp_exporter::probes
