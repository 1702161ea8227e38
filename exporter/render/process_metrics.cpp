#include "exporter/render/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace smtp_exporter::exporter {

namespace {

prometheus::MetricFamily gauge(std::string name, std::string help, double value,
                               prometheus::MetricType type = prometheus::MetricType::Gauge) {
  prometheus::MetricFamily f{std::move(name), std::move(help), type, {}};
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

int count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int n = 0;
  while (auto* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n - 1;  // the descriptor opendir itself holds
}

}  // namespace

std::vector<prometheus::MetricFamily> collect_process_metrics() {
  std::vector<prometheus::MetricFamily> out;
  std::ifstream in("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name, which is in parentheses and may itself contain spaces.
  auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream fields(stat.substr(close + 2));
    std::string f[24];
    for (auto& s : f) fields >> s;
    // f[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    try {
      double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
      out.push_back(gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
                          cpu, prometheus::MetricType::Counter));
      out.push_back(gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                          std::stod(f[20])));
      out.push_back(gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                          std::stod(f[21]) * page));
      double btime = boot_time_seconds();
      if (btime > 0) {
        out.push_back(gauge("process_start_time_seconds",
                            "Start time of the process since unix epoch in seconds.",
                            btime + std::stod(f[19]) / ticks));
      }
    } catch (const std::exception&) {
      // A /proc format we do not understand: leave the families out.
    }
  }
  int fds = count_open_fds();
  if (fds >= 0) out.push_back(gauge("process_open_fds", "Number of open file descriptors.", fds));
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    out.push_back(gauge("process_max_fds", "Maximum number of open file descriptors.",
                        static_cast<double>(limit.rlim_cur)));
  }
  return out;
}

}  // namespace smtp_exporter::exporter
