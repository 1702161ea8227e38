#include "common/numeric_host.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <string>

namespace smtp_exporter {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex_digit(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

}  // namespace

bool is_numeric_label(std::string_view label) {
  if (label.size() >= 2 && label[0] == '0' && (label[1] == 'x' || label[1] == 'X')) {
    return std::all_of(label.begin() + 2, label.end(), is_hex_digit);
  }
  return !label.empty() && std::all_of(label.begin(), label.end(), is_digit);
}

bool is_noncanonical_numeric_host(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return false;  // IPv6: no such forms
  std::string_view name = host;
  const bool trailing_dot = !name.empty() && name.back() == '.';
  if (trailing_dot) name.remove_suffix(1);
  const auto dot = name.rfind('.');
  const std::string_view last = dot == std::string_view::npos ? name : name.substr(dot + 1);
  if (!is_numeric_label(last)) return false;
  if (trailing_dot || name.size() > 15) return true;
  // inet_pton takes exactly the canonical dotted quad (glibc refuses leading zeros).
  const std::string text(name);
  in_addr address{};
  return inet_pton(AF_INET, text.c_str(), &address) != 1;
}

}  // namespace smtp_exporter
