// The scheduler's target entries and the status store's records are vectors kept sorted by target
// key: the name, then the address family (a target with ip_protocol = "both" runs as one entry per
// family, under one name). A map's node per target cost 96 bytes at 10,000 targets.
//
// Thread-safety: pure functions over their arguments.
#pragma once

#include <algorithm>
#include <compare>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace smtp_exporter::exporter {

// What identifies one scheduled target: its name and, for a "both" target, its family.
struct target_key {
  std::string_view name;
  config::ip_family family = config::ip_family::none;
  auto operator<=>(const target_key&) const = default;
};
inline target_key key_of(const config::target& t) { return {t.name, t.family}; }

// Sorts `items` by target key (key_of_item(item)); of two with one key (never in a validated
// config) the first is kept. For the vectors the scheduler and the status store keep by key.
template <typename T, typename KeyOf>
void sort_unique_by_key(std::vector<T>& items, KeyOf key_of_item) {
  std::stable_sort(items.begin(), items.end(),
                   [&](const T& a, const T& b) { return key_of_item(a) < key_of_item(b); });
  items.erase(std::unique(items.begin(), items.end(),
                          [&](const T& a, const T& b) { return key_of_item(a) == key_of_item(b); }),
              items.end());
}

}  // namespace smtp_exporter::exporter
