#include "exporter/views/report.hpp"

#include <cstdio>

namespace smtp_exporter::exporter {

void print_line(std::ostream& out, std::string_view status, std::string_view label,
                std::string_view duration, std::string_view text) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "  %-4.*s  %-9.*s %8.*s  ", static_cast<int>(status.size()),
                status.data(), static_cast<int>(label.size()), label.data(),
                static_cast<int>(duration.size()), duration.data());
  out << buf << text << "\n";
  out.flush();
}

void print_line(std::ostream& out, std::string_view status, std::string_view label,
                double seconds, std::string_view text) {
  char duration[32] = "";
  if (seconds >= 0) std::snprintf(duration, sizeof duration, "%.3fs", seconds);
  print_line(out, status, label, std::string_view(duration), text);
}

}  // namespace smtp_exporter::exporter
