#include "probes/core/icmp.hpp"

#include <array>
#include <string_view>

namespace smtp_exporter::probes {
namespace {

struct code_row {
  std::uint8_t code;
  icmp_meaning meaning;
  std::string_view words;
};

// RFC 792 and RFC 1812 (type 3, destination unreachable).
constexpr std::array<code_row, 14> v4_rows{{
    {0, icmp_meaning::unreachable, "network unreachable"},
    {1, icmp_meaning::unreachable, "host unreachable"},
    {2, icmp_meaning::other, "protocol unreachable"},
    {3, icmp_meaning::refused, "port unreachable"},
    {4, icmp_meaning::other, "fragmentation needed"},
    {5, icmp_meaning::other, "source route failed"},
    {6, icmp_meaning::unreachable, "destination network unknown"},
    {7, icmp_meaning::unreachable, "destination host unknown"},
    {9, icmp_meaning::prohibited, "network administratively prohibited"},
    {10, icmp_meaning::prohibited, "host administratively prohibited"},
    {11, icmp_meaning::unreachable, "network unreachable for type of service"},
    {12, icmp_meaning::unreachable, "host unreachable for type of service"},
    {13, icmp_meaning::prohibited, "communication administratively prohibited"},
    {8, icmp_meaning::unreachable, "source host isolated"},
}};

// RFC 4443 section 3.1 (type 1, destination unreachable).
constexpr std::array<code_row, 7> v6_rows{{
    {0, icmp_meaning::unreachable, "no route to destination"},
    {1, icmp_meaning::prohibited, "administratively prohibited"},
    {2, icmp_meaning::other, "beyond scope of source address"},
    {3, icmp_meaning::unreachable, "address unreachable"},
    {4, icmp_meaning::refused, "port unreachable"},
    {5, icmp_meaning::prohibited, "source address failed ingress/egress policy"},
    {6, icmp_meaning::prohibited, "reject route to destination"},
}};

const code_row* row_of(const icmp_report& r) {
  const bool v4 = r.family == 4 && r.type == 3;
  const bool v6 = r.family == 6 && r.type == 1;
  if (v4) {
    for (const auto& row : v4_rows) {
      if (row.code == r.code) return &row;
    }
  }
  if (v6) {
    for (const auto& row : v6_rows) {
      if (row.code == r.code) return &row;
    }
  }
  return nullptr;
}

}  // namespace

icmp_meaning meaning_of(const icmp_report& report) {
  if (!report.present()) return icmp_meaning::none;
  if (const code_row* row = row_of(report)) return row->meaning;
  const bool unreachable_type = (report.family == 4 && report.type == 3) ||
                                (report.family == 6 && report.type == 1);
  return unreachable_type ? icmp_meaning::other : icmp_meaning::none;
}

std::string describe(const icmp_report& report) {
  const std::string protocol = report.family == 6 ? "ICMPv6" : "ICMP";
  if (const code_row* row = row_of(report)) return protocol + " " + std::string(row->words);
  return protocol + " type " + std::to_string(report.type) + " code " +
         std::to_string(report.code);
}

}  // namespace smtp_exporter::probes
