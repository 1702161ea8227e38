// Duration strings as Prometheus writes them ("500ms", "1m30s"): integer amounts, units from
// largest to smallest, each unit at most once, so every accepted string has exactly one reading.
#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace smtp_exporter::config {
namespace {

struct duration_unit {
  std::string_view suffix;
  std::int64_t milliseconds;
};

// Largest first: that order is both the required order in the text and the output order.
constexpr std::array<duration_unit, 4> duration_units{{
    {"h", 3'600'000}, {"m", 60'000}, {"s", 1'000}, {"ms", 1}}};

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_letter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::optional<duration> parse_duration(std::string_view text) {
  constexpr std::int64_t max_ms = std::numeric_limits<std::int64_t>::max();
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  std::size_t next_unit = 0;  // units before this one have been used or skipped
  std::size_t i = 0;
  while (i < text.size()) {
    // A leading '-' or '+' fails here too: signs are not part of the grammar.
    if (!is_digit(text[i])) return std::nullopt;
    std::int64_t amount = 0;
    for (; i < text.size() && is_digit(text[i]); ++i) {
      const int digit = text[i] - '0';
      if (amount > (max_ms - digit) / 10) return std::nullopt;
      amount = amount * 10 + digit;
    }
    const std::size_t suffix_begin = i;
    while (i < text.size() && is_letter(text[i])) ++i;
    const std::string_view suffix = text.substr(suffix_begin, i - suffix_begin);
    std::size_t unit = next_unit;
    while (unit < duration_units.size() && duration_units[unit].suffix != suffix) ++unit;
    if (unit == duration_units.size())
      return std::nullopt;  // no unit, unknown, repeated or out of order
    next_unit = unit + 1;
    const std::int64_t scale = duration_units[unit].milliseconds;
    if (amount > (max_ms - total) / scale) return std::nullopt;
    total += amount * scale;
  }
  return duration{total};
}

std::string format_duration(duration d) {
  std::int64_t remaining = d.count();
  if (remaining == 0) return "0s";
  std::string out;
  if (remaining < 0) {
    out = "-";
    // Negating the minimum would overflow; no config value gets near it, so clamp.
    remaining = remaining == std::numeric_limits<std::int64_t>::min()
                    ? std::numeric_limits<std::int64_t>::max()
                    : -remaining;
  }
  for (const duration_unit& unit : duration_units) {
    const std::int64_t amount = remaining / unit.milliseconds;
    if (amount == 0) continue;
    out += std::to_string(amount);
    out += unit.suffix;
    remaining -= amount * unit.milliseconds;
  }
  return out;
}

}  // namespace smtp_exporter::config
