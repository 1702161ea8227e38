#include "common/text_escape.hpp"

namespace smtp_exporter {

std::string html_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> query_parameter(std::string_view query, std::string_view name) {
  auto hex_value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  auto decode = [&](std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '+') {
        out.push_back(' ');
      } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
                 hex_value(s[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
        i += 2;
      } else {
        out.push_back(s[i]);  // a stray %: kept as is
      }
    }
    return out;
  };
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    auto eq = pair.find('=');
    if (decode(pair.substr(0, eq)) != name) continue;
    return eq == std::string_view::npos ? std::string() : decode(pair.substr(eq + 1));
  }
  return std::nullopt;
}

std::string printable_excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

namespace {

// The length of the UTF-8 character `lead` starts, 0 for a byte no character starts with.
std::size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;  // a continuation byte, an overlong lead (C0, C1) or beyond U+10FFFF
}

// Whether `next` may follow `lead` as its second byte (RFC 3629: no overlongs, no surrogates).
bool second_byte_fits(unsigned char lead, unsigned char next) {
  if ((next & 0xc0) != 0x80) return false;
  if (lead == 0xe0) return next >= 0xa0;
  if (lead == 0xed) return next <= 0x9f;
  if (lead == 0xf0) return next >= 0x90;
  if (lead == 0xf4) return next <= 0x8f;
  return true;
}

bool acts_on_a_terminal(char32_t cp) {
  return (cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c ||
         cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

}  // namespace

std::string terminal_text_filter::feed(std::string_view bytes) {
  std::string text = std::move(held_);
  held_.clear();
  text.append(bytes);
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const std::size_t n = utf8_length(lead);
    if (n == 0) {
      out.push_back('?');
      ++i;
      continue;
    }
    // How many bytes after the lead belong to it, as far as they have come.
    std::size_t fit = 1;
    while (fit < n && i + fit < text.size()) {
      const auto b = static_cast<unsigned char>(text[i + fit]);
      if (fit == 1 ? !second_byte_fits(lead, b) : (b & 0xc0) != 0x80) break;
      ++fit;
    }
    if (fit < n && i + fit == text.size()) {
      held_ = text.substr(i);  // cut between two writes: wait for the rest
      break;
    }
    if (fit < n) {  // broken off by a byte that cannot follow: the lead alone is bad
      out.push_back('?');
      ++i;
      continue;
    }
    char32_t cp = n == 1 ? lead : lead & (0x7f >> n);
    for (std::size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3f);
    if (acts_on_a_terminal(cp)) {
      out.push_back('?');
    } else {
      out.append(text, i, n);
    }
    i += n;
  }
  return out;
}

std::string terminal_text_filter::finish() {
  std::string out(held_.size(), '?');
  held_.clear();
  return out;
}

}  // namespace smtp_exporter
