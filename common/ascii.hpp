// ASCII case folding for protocol text (DNS names, SPF and DMARC keywords), where only A-Z fold
// and no locale applies. Header-only.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace smtp_exporter {

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

}  // namespace smtp_exporter
