// Internal to config/: the keys only a [module.NAME] table has (the rest are a target's keys and
// are read by the target parser in config.cpp).
#pragma once

#include <toml++/toml.h>

#include <functional>
#include <string_view>

#include "config/config.hpp"

namespace smtp_exporter::config::detail {

inline constexpr std::size_t default_max_concurrent = 8;
inline constexpr std::size_t max_max_concurrent = 1000;

using report_fn =
    std::function<void(toml::source_position at, std::string_view key, std::string_view message)>;

// Reads allowed_hosts, allowed_cidrs, allowed_ports and max_concurrent into `out`; problems go to
// `error`, a module that can probe nothing to `warning`.
void read_module_keys(const toml::table& table, std::string_view base, probe_module& out,
                      const report_fn& error, const report_fn& warning);

// Module names appear in URLs and logs: [A-Za-z0-9_.-], 1 to 128 characters.
bool valid_module_name(std::string_view name);

}  // namespace smtp_exporter::config::detail
