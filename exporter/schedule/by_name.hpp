// The scheduler's target entries and the status store's records are vectors kept sorted by target
// name (a map's node per target cost 96 bytes at 10,000 targets).
//
// Thread-safety: a pure function over its argument.
#pragma once

#include <algorithm>
#include <vector>

namespace smtp_exporter::exporter {

// Sorts `items` by target name (name_of(item)); of two with one name (never in a validated
// config) the first is kept. For the vectors the scheduler and the status store keep by name.
template <typename T, typename NameOf>
void sort_unique_by_name(std::vector<T>& items, NameOf name_of) {
  std::stable_sort(items.begin(), items.end(),
                   [&](const T& a, const T& b) { return name_of(a) < name_of(b); });
  items.erase(std::unique(items.begin(), items.end(),
                          [&](const T& a, const T& b) { return name_of(a) == name_of(b); }),
              items.end());
}

}  // namespace smtp_exporter::exporter
