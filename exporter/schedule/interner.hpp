// Hash-consing of immutable values shared by many targets' records: targets on the same provider
// see the same certificate chain, and targets on the same server the same dialogue, so at 10,000
// targets one copy each is kept instead of one per target (bench/README.md, "Where the memory
// goes").
//
// intern(v) returns the shared copy of a value equal to v if one is alive, else makes v the shared
// copy. The table holds weak pointers only: a value lives as long as a record uses it. Expired
// entries are dropped when the table has doubled since the last sweep, so it never holds more
// than about twice the live values.
//
// Thread-safety: intern() and size() may be called from any thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace smtp_exporter::exporter {

// Mixes `value` into `seed`, for the hashes interners use.
inline void hash_combine(std::size_t& seed, std::size_t value) {
  seed ^= value + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
}

template <typename T, typename Hash = std::hash<T>>
class interner {
 public:
  std::shared_ptr<const T> intern(T value) {
    const std::size_t hash = Hash{}(value);
    std::lock_guard lock(mutex_);
    auto [first, last] = table_.equal_range(hash);
    for (auto it = first; it != last; ++it) {
      if (auto shared = it->second.lock(); shared && *shared == value) return shared;
    }
    if (table_.size() >= sweep_at_) sweep();
    auto shared = std::make_shared<const T>(std::move(value));
    table_.emplace(hash, shared);
    return shared;
  }

  // Entries in the table, including expired ones not swept yet.
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return table_.size();
  }

 private:
  static constexpr std::size_t min_sweep = 64;

  void sweep() {
    std::erase_if(table_, [](const auto& entry) { return entry.second.expired(); });
    sweep_at_ = std::max(min_sweep, 2 * table_.size());
  }

  mutable std::mutex mutex_;
  std::unordered_multimap<std::size_t, std::weak_ptr<const T>> table_;
  std::size_t sweep_at_ = min_sweep;
};

}  // namespace smtp_exporter::exporter
