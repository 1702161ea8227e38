// Sharding configured targets over replicas (--shard.count, --shard.index): every replica loads the
// same file and probes only its share. The share is chosen by rendezvous (highest random weight)
// hashing of the target's name, so changing the count from N to N+1 moves only about 1/(N+1) of the
// targets, and the assignment depends on nothing but the name, the index and the count: replicas
// agree without talking to each other, across restarts and versions.
//
// Thread-safety: pure functions and a plain value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter::exporter {

struct shard_spec {
  std::uint32_t index = 0;
  std::uint32_t count = 1;  // 1: no sharding, this replica probes every target

  bool sharded() const { return count > 1; }
  // True when the target named `name` belongs to this shard.
  bool owns(std::string_view name) const;
};

// The shard (0..count-1) that owns `name`. count must be at least 1.
std::uint32_t shard_of(std::string_view name, std::uint32_t count);

// The ordinal at the end of a StatefulSet pod's host name ("smtp-exporter-2" -> 2); nullopt when
// the name does not end in "-<digits>".
std::optional<std::uint32_t> ordinal_from_hostname(std::string_view hostname);

// Checks index < count and count >= 1; the error names the flags.
std::optional<std::string> validate(const shard_spec& spec);

}  // namespace smtp_exporter::exporter
