#include "exporter/schedule/shard.hpp"

#include <charconv>

#include "common/fnv1a.hpp"

namespace smtp_exporter::exporter {
namespace {

// splitmix64's finaliser: spreads (name hash, shard) pairs so that every shard's weights are
// independent, which is what makes the highest weight a fair and stable choice.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

std::uint32_t shard_of(std::string_view name, std::uint32_t count) {
  // FNV-1a: replicas built apart must agree on it.
  const std::uint64_t h = fnv1a(name);
  std::uint32_t best = 0;
  std::uint64_t best_weight = 0;
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint64_t w = mix(h ^ mix(i));
    if (i == 0 || w > best_weight) {
      best = i;
      best_weight = w;
    }
  }
  return best;
}

bool shard_spec::owns(std::string_view name) const {
  return count <= 1 || shard_of(name, count) == index;
}

std::optional<std::uint32_t> ordinal_from_hostname(std::string_view hostname) {
  const auto dash = hostname.rfind('-');
  if (dash == std::string_view::npos || dash + 1 == hostname.size()) return std::nullopt;
  const auto digits = hostname.substr(dash + 1);
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<std::string> validate(const shard_spec& spec) {
  if (spec.count < 1) return "--shard.count must be at least 1";
  if (spec.index >= spec.count) {
    return "--shard.index (" + std::to_string(spec.index) + ") must be below --shard.count (" +
           std::to_string(spec.count) + ")";
  }
  return std::nullopt;
}

}  // namespace smtp_exporter::exporter
