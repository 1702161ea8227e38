// The descriptor limit: the exporter holds a socket per running probe and per web connection, and
// the soft RLIMIT_NOFILE (often 1024) is far below what 10,000 targets need. Raised to the hard
// limit at start, as Go programs do.
//
// Thread-safety: call once at start, before other threads open descriptors.
#pragma once

#include <cstdint>
#include <string>

namespace smtp_exporter::exporter {

struct nofile_limit {
  std::uint64_t before = 0;  // soft limit found
  std::uint64_t soft = 0;    // soft limit now
  std::uint64_t hard = 0;    // RLIM_INFINITY is reported as UINT64_MAX
  std::string error;         // why the soft limit could not be raised; empty on success
};

nofile_limit raise_nofile_limit();

}  // namespace smtp_exporter::exporter
