// The probes a target can run, one per stage of an SMTP session, in session order: the one list
// from which probes::probe_kind (probes/core/result.hpp), config::probe (config/config.hpp) and the
// stage registration (probes/smtp/stages.cpp) are made. It lives here because config/ may not
// include probes/, and two hand-kept copies had to be tied by a static_assert before.
//
// Adding a probe: its line here, and its stage in probes/smtp/stage_<name>.cpp defining
// `const stage <name>_stage` (probes/smtp/stages.hpp lists what else a stage brings).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#define SMTP_EXPORTER_PROBES(X) \
  X(banner)                     \
  X(tls)                        \
  X(auth)                       \
  X(envelope)                   \
  X(delivery)

#define SMTP_EXPORTER_PROBE_ENUMERATOR(name) name,
#define SMTP_EXPORTER_PROBE_NAME(name) std::string_view(#name),
// Defines, in the namespace where it is used, `enum class ENUM` (one enumerator per probe, in
// order), NAMES (their strings, index = enumerator) and COUNT.
#define SMTP_EXPORTER_DEFINE_PROBE_LIST(ENUM, NAMES, COUNT)                                   \
  enum class ENUM : std::uint8_t { SMTP_EXPORTER_PROBES(SMTP_EXPORTER_PROBE_ENUMERATOR) };     \
  inline constexpr std::array NAMES{SMTP_EXPORTER_PROBES(SMTP_EXPORTER_PROBE_NAME)};           \
  inline constexpr std::size_t COUNT = NAMES.size()
