#include "exporter/runtime/clock.hpp"

#include <chrono>
#include <cmath>
#include <ctime>

namespace smtp_exporter::exporter {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string utc_text(double unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

long days_left(double not_after, double now) {
  return static_cast<long>(std::floor((not_after - now) / 86400));
}

}  // namespace smtp_exporter::exporter
