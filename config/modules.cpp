// [module.NAME]: what GET /probe?module=NAME&target=HOST:PORT runs. A module is a target template
// (read by parse_target, targets.cpp) plus the keys only a module has, read here: the targets it
// may probe and its cap on concurrent sessions.
#include <toml++/toml.h>

#include <algorithm>
#include <functional>
#include <string>
#include <string_view>

#include "config/detail/loader.hpp"
#include "config/presets.hpp"

namespace smtp_exporter::config::detail {
namespace {

constexpr std::size_t default_max_concurrent = 8;
// Credentialed modules: one session per HOST:PORT per 30 s at most (a scrape interval of 15 s
// gets every other answer from the last run), and 20 sessions a minute in all, far below what
// locks an account or penalises the egress IP (4 clients drove 7,305 AUTH sessions in 10 s).
constexpr auto default_credentialed_min_interval = std::chrono::seconds(30);
constexpr std::size_t default_credentialed_sessions_per_minute = 20;
constexpr std::size_t max_sessions_per_minute = 6000;
constexpr std::size_t max_max_concurrent = 1000;

using report_fn =
    std::function<void(toml::source_position at, std::string_view key, std::string_view message)>;

using item_reader = void (*)(const toml::node& item, const std::string& path, allow_list& out,
                             const report_fn& error);

void read_host_pattern(const toml::node& item, const std::string& path, allow_list& out,
                       const report_fn& error) {
  const auto* value = item.as_string();
  if (value == nullptr) return error(item.source().begin, path, "expected string");
  if (auto problem = host_pattern_problem(value->get()))
    return error(item.source().begin, path, "host pattern " + *problem);
  std::string pattern = value->get();
  std::transform(pattern.begin(), pattern.end(), pattern.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  out.hosts.push_back(std::move(pattern));
}

void read_cidr(const toml::node& item, const std::string& path, allow_list& out,
               const report_fn& error) {
  const auto* value = item.as_string();
  if (value == nullptr) return error(item.source().begin, path, "expected string");
  std::string problem;
  if (auto block = parse_cidr(value->get(), problem)) {
    out.cidrs.push_back(*block);
  } else {
    error(item.source().begin, path, problem);
  }
}

// 25, or "2500-2599".
void read_ports(const toml::node& item, const std::string& path, allow_list& out,
                const report_fn& error) {
  std::string problem;
  std::optional<port_range> range;
  if (const auto* number = item.as_integer()) {
    const std::int64_t v = number->get();
    if (v >= 1 && v <= 65535) {
      range = port_range{static_cast<std::uint16_t>(v), static_cast<std::uint16_t>(v)};
    } else {
      problem = "port must be between 1 and 65535, got " + std::to_string(v);
    }
  } else if (const auto* text = item.as_string()) {
    range = parse_port_range(text->get(), problem);
  } else {
    problem = "expected a port number or a range string such as \"2500-2599\"";
  }
  if (range) {
    out.ports.push_back(*range);
  } else {
    error(item.source().begin, path, problem);
  }
}

// Reads each element of the array under `key`, if present.
void read_list(const toml::table& table, std::string_view base, std::string_view key,
               item_reader read, allow_list& out, const report_fn& error) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return;
  const std::string path = std::string(base) + '.' + std::string(key);
  const toml::array* list = node->as_array();
  if (list == nullptr) return error(node->source().begin, path, "expected array");
  for (std::size_t i = 0; i < list->size(); ++i)
    read((*list)[i], path + '[' + std::to_string(i) + ']', out, error);
}

// Module names appear in URLs and logs: [A-Za-z0-9_.-], 1 to 128 characters.
bool valid_module_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

// Reads allowed_hosts, allowed_cidrs, allowed_ports and max_concurrent into `out`; problems go to
// `error`, a module that can probe nothing to `warning`.
void read_module_keys(const toml::table& table, std::string_view base, probe_module& out,
                      const report_fn& error, const report_fn& warning) {
  read_list(table, base, "allowed_hosts", read_host_pattern, out.allowed, error);
  read_list(table, base, "allowed_cidrs", read_cidr, out.allowed, error);
  read_list(table, base, "allowed_ports", read_ports, out.allowed, error);

  out.max_concurrent = default_max_concurrent;
  if (const toml::node* node = table.get("max_concurrent")) {
    const auto* number = node->as_integer();
    if (number == nullptr || number->get() < 1 ||
        number->get() > static_cast<std::int64_t>(max_max_concurrent)) {
      error(node->source().begin, std::string(base) + ".max_concurrent",
            "must be an integer from 1 to " + std::to_string(max_max_concurrent));
    } else {
      out.max_concurrent = static_cast<std::size_t>(number->get());
    }
  }

  const bool credentialed = out.settings.auth.has_value();
  out.min_interval = credentialed ? std::chrono::milliseconds(default_credentialed_min_interval)
                                  : std::chrono::milliseconds(0);
  if (const toml::node* node = table.get("min_interval")) {
    const auto* text = node->as_string();
    const auto d = text ? parse_duration(text->get()) : std::nullopt;
    if (!d || d->count() < 0 || *d > std::chrono::hours(24)) {
      error(node->source().begin, std::string(base) + ".min_interval",
            "must be a duration from \"0s\" (off) to \"24h\", such as \"30s\"");
    } else {
      out.min_interval = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    }
  }
  out.max_sessions_per_minute = credentialed ? default_credentialed_sessions_per_minute : 0;
  if (const toml::node* node = table.get("max_sessions_per_minute")) {
    const auto* number = node->as_integer();
    if (number == nullptr || number->get() < 0 ||
        number->get() > static_cast<std::int64_t>(max_sessions_per_minute)) {
      error(node->source().begin, std::string(base) + ".max_sessions_per_minute",
            "must be an integer from 0 (no limit) to " + std::to_string(max_sessions_per_minute));
    } else {
      out.max_sessions_per_minute = static_cast<std::size_t>(number->get());
    }
  }

  if (out.allowed.ports.empty() || (out.allowed.hosts.empty() && out.allowed.cidrs.empty())) {
    warning(table.source().begin, base,
            "module allows no target: /probe needs allowed_hosts or allowed_cidrs, and "
            "allowed_ports");
  }
}

}  // namespace

// [module.NAME] tables, by name (TOML tables are ordered by key).
void loader::read_modules(const toml::node& node, exporter_config& config) {
  if (!expect(node, toml::node_type::table, "module")) return;
  const auto report_to = [this](std::vector<diagnostic>& to) {
    return [this, &to](toml::source_position at, std::string_view key, std::string_view message) {
      report(to, at, key, message);
    };
  };
  for (const auto& [key, value] : *node.as_table()) {
    const std::string base = join("module", key.str());
    if (!valid_module_name(key.str())) {
      error(key.source().begin, base,
            "module names may hold only letters, digits, \"_\", \"-\" and \".\" (1 to 128)");
      continue;
    }
    if (!expect(value, toml::node_type::table, base)) continue;
    const std::size_t errors_before = errors_.size();
    probe_module module;
    module.name = std::string(key.str());
    parse_target(*value.as_table(), base, config, &module);
    read_module_keys(*value.as_table(), base, module, report_to(errors_), report_to(warnings_));
    if (errors_.size() == errors_before) config.modules.push_back(std::move(module));
  }
}

}  // namespace smtp_exporter::config::detail

namespace smtp_exporter::config {

target module_target(const probe_module& module, std::string_view host, std::uint16_t port) {
  target t = module.settings;
  t.name = host_port(host, port);
  t.host = std::string(host);
  t.port = port;
  t.labels.clear();
  if (!module.tls_explicit) t.tls = tls_mode_for_port(find_provider(t.provider), port);
  return t;
}

}  // namespace smtp_exporter::config
