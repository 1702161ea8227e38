#include <algorithm>
#include <string>

#include "config/detail/module_keys.hpp"
#include "config/presets.hpp"

namespace smtp_exporter::config::detail {
namespace {

std::string item(std::string_view base, std::string_view key, std::size_t i) {
  return std::string(base) + '.' + std::string(key) + '[' + std::to_string(i) + ']';
}

// Calls read(node, path) for each element of the array under `key`; false if the key is absent.
template <typename Read>
bool for_each_item(const toml::table& table, std::string_view base, std::string_view key,
                   const report_fn& error, Read&& read) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return false;
  const toml::array* list = node->as_array();
  if (list == nullptr) {
    error(node->source().begin, std::string(base) + '.' + std::string(key), "expected array");
    return true;
  }
  for (std::size_t i = 0; i < list->size(); ++i) read((*list)[i], item(base, key, i));
  return true;
}

}  // namespace

bool valid_module_name(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

void read_module_keys(const toml::table& table, std::string_view base, probe_module& out,
                      const report_fn& error, const report_fn& warning) {
  for_each_item(table, base, "allowed_hosts", error, [&](const toml::node& n, const std::string& path) {
    const auto* value = n.as_string();
    if (value == nullptr) return error(n.source().begin, path, "expected string");
    if (auto problem = host_pattern_problem(value->get()))
      return error(n.source().begin, path, "host pattern " + *problem);
    std::string pattern = value->get();
    std::transform(pattern.begin(), pattern.end(), pattern.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
    out.allowed.hosts.push_back(std::move(pattern));
  });
  for_each_item(table, base, "allowed_cidrs", error, [&](const toml::node& n, const std::string& path) {
    const auto* value = n.as_string();
    if (value == nullptr) return error(n.source().begin, path, "expected string");
    std::string problem;
    if (auto block = parse_cidr(value->get(), problem)) {
      out.allowed.cidrs.push_back(*block);
    } else {
      error(n.source().begin, path, problem);
    }
  });
  for_each_item(table, base, "allowed_ports", error, [&](const toml::node& n, const std::string& path) {
        std::string problem;
        std::optional<port_range> range;
        if (const auto* number = n.as_integer()) {
          const std::int64_t v = number->get();
          if (v >= 1 && v <= 65535) {
            range = port_range{static_cast<std::uint16_t>(v), static_cast<std::uint16_t>(v)};
          } else {
            problem = "port must be between 1 and 65535, got " + std::to_string(v);
          }
        } else if (const auto* text = n.as_string()) {
          range = parse_port_range(text->get(), problem);
        } else {
          problem = "expected a port number or a range string such as \"2500-2599\"";
        }
        if (range) {
          out.allowed.ports.push_back(*range);
        } else {
          error(n.source().begin, path, problem);
        }
      });

  out.max_concurrent = default_max_concurrent;
  if (const toml::node* node = table.get("max_concurrent")) {
    const std::string path = std::string(base) + ".max_concurrent";
    const auto* number = node->as_integer();
    if (number == nullptr || number->get() < 1 ||
        number->get() > static_cast<std::int64_t>(max_max_concurrent)) {
      error(node->source().begin, path,
            "must be an integer from 1 to " + std::to_string(max_max_concurrent));
    } else {
      out.max_concurrent = static_cast<std::size_t>(number->get());
    }
  }

  if (out.allowed.ports.empty() || (out.allowed.hosts.empty() && out.allowed.cidrs.empty())) {
    warning(table.source().begin, base,
            "module allows no target: /probe needs allowed_hosts or allowed_cidrs, and "
            "allowed_ports");
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
