// FNV-1a, 64-bit: a fixed, documented function of the bytes, for what must agree across runs,
// builds and replicas (std::hash may differ between builds): the scheduler's per-target offsets
// and the shard a target belongs to.
//
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <string_view>

namespace smtp_exporter {

constexpr std::uint64_t fnv1a(std::string_view s) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

}  // namespace smtp_exporter
