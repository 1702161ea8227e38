#include "exporter/runtime/fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace smtp_exporter::exporter {

nofile_limit raise_nofile_limit() {
  nofile_limit out;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  out.before = out.soft = limit.rlim_cur;
  out.hard = limit.rlim_max;
  if (limit.rlim_cur == limit.rlim_max) return out;
  rlim_t want = limit.rlim_max;
  if (want == RLIM_INFINITY) {
    // Linux caps descriptors at fs.nr_open even when the hard limit says unlimited.
    std::ifstream in("/proc/sys/fs/nr_open");
    unsigned long long nr_open = 0;
    want = (in >> nr_open) && nr_open > 0 ? static_cast<rlim_t>(nr_open) : 1024 * 1024;
  }
  rlimit raised{want, limit.rlim_max};
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) {
    out.error = std::strerror(errno);
    return out;
  }
  out.soft = want;
  return out;
}

}  // namespace smtp_exporter::exporter
