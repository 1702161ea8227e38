#include "exporter/runtime/malloc_tuning.hpp"

#include <cstdlib>
#include <initializer_list>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace smtp_exporter::exporter {

bool tune_malloc() {
#if defined(__GLIBC__)
  for (const char* name : {"GLIBC_TUNABLES", "MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_"}) {
    if (std::getenv(name) != nullptr) return false;
  }
  const bool threshold = mallopt(M_MMAP_THRESHOLD, 128 * 1024) == 1;
  const bool arenas = mallopt(M_ARENA_MAX, 2) == 1;
  return threshold && arenas;
#else
  return false;
#endif
}

}  // namespace smtp_exporter::exporter
