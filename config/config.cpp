// Loads and validates the TOML config in one pass. Every problem becomes a positioned error and
// loading goes on, so an operator fixes a whole file in one edit-reload cycle, not one per error.
// No value of [target.auth] is ever quoted back: messages there name keys, not contents.
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "config/detail/module_keys.hpp"
#include "config/presets.hpp"

namespace smtp_exporter::config {
namespace {

using namespace std::chrono_literals;
using toml::node_type;
using key_list = std::span<const std::string_view>;

constexpr duration builtin_interval = 60s;
constexpr duration builtin_timeout = 10s;
// Providers count envelope attempts against rate limits: the envelope probe runs rarely unless
// envelope_interval says otherwise.
constexpr duration builtin_envelope_interval = 15min;
// Intervals and timeouts are added to steady_clock time points (nanoseconds); a bound keeps that
// arithmetic far from overflow, and no probe needs to run less than weekly.
constexpr duration max_duration = std::chrono::hours(168);
constexpr std::size_t max_name_length = 128;

constexpr std::string_view top_keys[] = {"defaults", "target", "module", "dnsbl"};
constexpr std::string_view dnsbl_keys[] = {
    "enabled", "egress_ips", "discovery", "check_targets", "max_target_ips", "max_in_flight",
    "servers", "interval", "timeout", "zone"};
constexpr std::string_view dnsbl_zone_keys[] = {"name", "servers", "dqs_key_file", "dqs_key_env",
                                                "interval", "timeout", "blocking", "delist_url"};
constexpr std::string_view discovery_keys[] = {"method", "name", "server", "record", "ip6",
                                               "interval", "timeout"};
constexpr std::string_view discovery_methods[] = {"opendns", "google", "custom"};
constexpr std::string_view discovery_records[] = {"A", "AAAA", "TXT"};
constexpr std::string_view defaults_keys[] = {
    "interval", "timeout", "ehlo_name", "probes", "banner_interval", "tls_interval",
    "auth_interval", "allow_plaintext", "tls", "ip_protocol", "envelope_interval",
    "allow_unverified_credentials"};
constexpr std::string_view target_keys[] = {
    "name", "provider", "host", "port", "tls", "probes", "interval", "banner_interval",
    "tls_interval", "auth_interval", "timeout", "ehlo_name", "allow_plaintext", "labels", "auth",
    "ip_protocol", "envelope_interval", "envelope", "allow_unverified_credentials"};
constexpr std::string_view envelope_keys[] = {"mail_from", "rcpt_to"};
// A [module.NAME] table: a target's keys without name, host, port, intervals and labels.
constexpr std::string_view module_keys[] = {
    "provider", "tls", "probes", "timeout", "ehlo_name", "allow_plaintext", "auth", "ip_protocol",
    "envelope", "allow_unverified_credentials", "allowed_hosts", "allowed_cidrs", "allowed_ports",
    "max_concurrent"};
constexpr std::string_view ip_protocols[] = {"any", "ip4", "ip6"};
// `mode` last: only a target's [tls] table may carry it, [defaults.tls] takes the rest.
constexpr std::string_view tls_keys[] = {"server_name", "ca_file", "cert_file", "key_file",
                                         "min_tls_version", "insecure_skip_verify", "mode"};
constexpr std::string_view auth_keys[] = {"username", "password_file", "password_env", "password",
                                          "token_file", "mechanism"};
constexpr std::string_view secret_keys[] = {"password_file", "password_env", "password",
                                            "token_file"};
// Indexed by probe: "<name>_interval".
constexpr std::string_view probe_interval_keys[] = {"banner_interval", "tls_interval",
                                                    "auth_interval", "envelope_interval"};
static_assert(std::size(probe_interval_keys) == probe_count);
constexpr std::string_view timing_keys[] = {"probes", "interval", "timeout", "banner_interval",
                                            "tls_interval", "auth_interval", "envelope_interval"};

// A probe's interval when it has no <name>_interval: the target's, but never below 15m for the
// envelope probe.
duration default_probe_interval(std::size_t p, duration interval) {
  if (p == static_cast<std::size_t>(probe::envelope))
    return std::max(interval, builtin_envelope_interval);
  return interval;
}

}  // namespace

// A mailbox as MAIL FROM/RCPT TO carry it: local@domain in printable ASCII, no spaces or angle
// brackets (they would break out of the command), at most 254 characters (RFC 5321 4.5.3.1.3).
std::optional<std::string> address_problem(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (s.size() > 254) return "must be at most 254 characters";
  for (const char c : s) {
    if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
      return "must be printable ASCII without spaces or angle brackets";
  }
  const auto at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size())
    return "must be an address of the form local@domain";
  return std::nullopt;
}

namespace {
constexpr std::string_view tls_versions[] = {"TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3"};

std::string_view type_name(node_type type) {
  // In toml::node_type's order.
  constexpr std::string_view names[] = {"nothing", "table", "array", "string", "integer",
                                        "float", "boolean", "date", "time", "date-time"};
  const auto index = static_cast<std::size_t>(type);
  return index < std::size(names) ? names[index] : "unknown";
}

bool is_word_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// [a-zA-Z_][a-zA-Z0-9_]*: Prometheus label names and environment variable names alike.
bool is_identifier(std::string_view s) {
  return !s.empty() && !(s[0] >= '0' && s[0] <= '9') &&
         std::all_of(s.begin(), s.end(), is_word_char);
}

bool contains(key_list keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

// A value echoed in a message, escaped so a stray control byte cannot forge a log line.
std::string quote_value(std::string_view s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (!is_control(c)) {
      out += c;
      continue;
    }
    char hex[8];
    std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(static_cast<unsigned char>(c)));
    out += hex;
  }
  return out + '"';
}

// Paths read like TOML dotted keys; an odd key is quoted so the path stays unambiguous.
std::string join(std::string_view base, std::string_view key) {
  const bool bare = !key.empty() && std::all_of(key.begin(), key.end(),
                                                [](char c) { return is_word_char(c) || c == '-'; });
  std::string out(base);
  if (!out.empty()) out += '.';
  return out + (bare ? std::string(key) : quote_value(key));
}

std::string one_of(key_list names) {
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

std::optional<std::string> hostname_problem(std::string_view s) {
  if (s.empty()) return "must not be empty";
  if (std::any_of(s.begin(), s.end(), [](char c) { return c == ' ' || is_control(c); }))
    return "must not contain spaces or control characters";
  return std::nullopt;
}

bool before(toml::source_position a, toml::source_position b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

// What [defaults] resolves to; every target starts from a copy.
struct defaults_block {
  duration interval = builtin_interval;
  duration timeout = builtin_timeout;
  std::array<std::optional<duration>, probe_count> probe_interval{};
  std::array<bool, probe_count> probes{true, true, false};
  std::string ehlo_name;
  bool allow_plaintext = false;
  bool allow_unverified_credentials = false;
  std::string ip_protocol = "any";
  tls_settings tls;
  tls_file_sources tls_files;
};

// "FILE:LINE:COLUMN", as every config error begins.
std::string position_text(const std::string& source, toml::source_position at) {
  return source + ':' + std::to_string(at.line) + ':' + std::to_string(at.column);
}

class loader {
 public:
  explicit loader(std::string_view source_name) : source_(source_name) {}
  load_result run(std::string_view text);

 private:
  struct diagnostic {
    toml::source_position at;
    std::string text;
  };

  std::string position(toml::source_position at) const { return position_text(source_, at); }
  void report(std::vector<diagnostic>& to, toml::source_position at, std::string_view key,
              std::string_view message) {
    to.push_back({at, key_source{position(at), std::string(key)}.error(message)});
  }
  void error(toml::source_position at, std::string_view key, std::string_view message) {
    report(errors_, at, key, message);
  }
  void error(const toml::node& at, std::string_view key, std::string_view message) {
    report(errors_, at.source().begin, key, message);
  }
  static std::vector<std::string> in_file_order(std::vector<diagnostic>& found);

  bool expect(const toml::node& node, node_type type, std::string_view key);
  const toml::node* find(const toml::table& table, std::string_view key, node_type type,
                         std::string_view base);
  void check_keys(const toml::table& table, key_list allowed, std::string_view base);
  void read_ip_protocol(const toml::table& table, std::string_view base, std::string& out);
  void read_string(const toml::table& table, std::string_view key, std::string_view base,
                   std::string& out);
  void read_bool(const toml::table& table, std::string_view key, std::string_view base, bool& out);
  bool read_duration(const toml::table& table, std::string_view key, std::string_view base,
                     duration& out);
  void read_ehlo_name(const toml::table& table, std::string_view base, std::string& out);
  void read_probes(const toml::table& table, std::string_view base,
                   std::array<bool, probe_count>& out);

  void parse_defaults(const toml::table& table, defaults_block& out);
  void parse_tls(const toml::table& table, std::string_view base, tls_settings& out,
                 tls_file_sources& files);
  std::optional<auth_settings> parse_auth(const toml::table& table, std::string_view base,
                                          const std::string& target_name);
  std::optional<envelope_settings> parse_envelope(const toml::table& table, std::string_view base,
                                                  const indirect_optional<auth_settings>& auth);
  void parse_labels(const toml::table& table, std::string_view base, target& out);
  // With `module`, reads a module's target template into module->settings instead.
  void parse_target(const toml::table& table, const std::string& base,
                    const defaults_block& defaults, exporter_config& config,
                    probe_module* module = nullptr);
  void parse_modules(const toml::table& table, const defaults_block& defaults,
                     exporter_config& config);
  void check_timeout(const toml::table& table, std::string_view base,
                     const std::array<bool, probe_count>& probes,
                     const std::array<duration, probe_count>& intervals, duration timeout);
  // [dnsbl] (docs/configuration.md).
  void parse_dnsbl(const toml::table& table, dnsbl_settings& out);
  void parse_dnsbl_zone(const toml::table& table, const std::string& base,
                        const dnsbl_settings& section, duration interval, duration timeout,
                        dnsbl_zone& out);
  void parse_discovery(const toml::table& table, egress_discovery& out);
  void read_servers(const toml::table& table, std::string_view base,
                    std::vector<std::string>& out);
  void read_choice(const toml::table& table, std::string_view key, std::string_view base,
                   key_list choices, std::string_view what, std::string& out);
  void read_count(const toml::table& table, std::string_view key, std::string_view base,
                  std::size_t low, std::size_t high, std::size_t& out);
  void check_dnsbl_timeout(const toml::table& table, std::string_view base, duration interval,
                           duration timeout);

  std::string source_;
  std::vector<diagnostic> errors_;
  std::vector<diagnostic> warnings_;
  shared_value<tls_settings> defaults_tls_;  // the last defaults' TLS settings, shared by targets
  std::unordered_map<std::string, std::uint32_t> first_line_of_name_;
};

// toml++ quotes the text it could not read ("'…' is not representable in 64 bits"). On a line
// that sets a password that text may be the secret (digits written without quotes): there the
// quoted parts are left out.
std::string description_for_line(std::string_view description, std::string_view text,
                                 std::size_t line) {
  std::size_t start = 0;
  for (std::size_t n = 1; n < line && start != std::string_view::npos; ++n) {
    start = text.find('\n', start);
    if (start != std::string_view::npos) ++start;
  }
  if (start == std::string_view::npos) start = text.size();
  const std::string_view this_line = text.substr(start, text.find('\n', start) - start);
  if (this_line.find("password") == std::string_view::npos) return std::string(description);
  std::string out;
  bool quoted = false;
  for (char c : description) {
    if (c == '\'') {
      quoted = !quoted;
      if (quoted) out += "'(not shown)'";
    } else if (!quoted) {
      out += c;
    }
  }
  return out;
}

template <class parse_error>
load_result syntax_error(const std::string& source, std::string_view text, const parse_error& e) {
  const toml::source_position at = e.source().begin;
  load_result result;
  result.errors.push_back(position_text(source, at) + ": syntax error: " +
                          description_for_line(e.description(), text, at.line));
  return result;
}

// TOML allows no control characters but tab, CR and LF outside comments, and toml++ 3.3 trips
// an internal assertion (undefined behaviour in release builds) on some, e.g. a NUL in a table
// header, found by tests/fuzz. Such bytes are rejected here, before toml++ sees them.
std::optional<std::string> control_character_error(std::string_view source, std::string_view text) {
  std::size_t line = 1, column = 1;
  for (unsigned char c : text) {
    if (c == '\n') {
      ++line;
      column = 1;
      continue;
    }
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      return std::string(source) + ':' + std::to_string(line) + ':' + std::to_string(column) +
             ": syntax error: control character " + code + " is not allowed in TOML";
    }
    ++column;
  }
  return std::nullopt;
}

load_result loader::run(std::string_view text) {
  if (auto error = control_character_error(source_, text)) {
    load_result result;
    result.errors.push_back(std::move(*error));
    return result;
  }
  toml::table root;
#if TOML_EXCEPTIONS
  try {
    root = toml::parse(text, std::string_view{source_});
  } catch (const toml::parse_error& e) {
    return syntax_error(source_, text, e);
  }
#else
  toml::parse_result parsed = toml::parse(text, std::string_view{source_});
  if (!parsed) return syntax_error(source_, text, parsed.error());
  root = std::move(parsed).table();
#endif
  check_keys(root, top_keys, "");
  defaults_block defaults;
  if (const toml::node* node = find(root, "defaults", node_type::table, ""))
    parse_defaults(*node->as_table(), defaults);
  if (defaults.ehlo_name.empty()) defaults.ehlo_name = default_ehlo_name();

  exporter_config config;
  if (const toml::node* node = root.get("target")) {
    if (const toml::array* targets = node->as_array()) {
      config.targets.reserve(targets->size());
      for (std::size_t i = 0; i < targets->size(); ++i) {
        const std::string base = "target[" + std::to_string(i) + "]";
        if (expect((*targets)[i], node_type::table, base))
          parse_target(*(*targets)[i].as_table(), base, defaults, config);
      }
    } else {
      error(*node, "target",
            "expected array of tables, got " + std::string(type_name(node->type())));
    }
  }

  if (const toml::node* node = find(root, "dnsbl", node_type::table, ""))
    parse_dnsbl(*node->as_table(), config.dnsbl);
  if (const toml::node* node = find(root, "module", node_type::table, ""))
    parse_modules(*node->as_table(), defaults, config);

  load_result result;
  result.errors = in_file_order(errors_);
  if (result.errors.empty()) {
    config.warnings = in_file_order(warnings_);
    result.config = std::move(config);
  }
  return result;
}

// Diagnostics at one position keep the order they were found in.
std::vector<std::string> loader::in_file_order(std::vector<diagnostic>& found) {
  std::stable_sort(found.begin(), found.end(),
                   [](const diagnostic& a, const diagnostic& b) { return before(a.at, b.at); });
  std::vector<std::string> out;
  out.reserve(found.size());
  for (diagnostic& d : found) out.push_back(std::move(d.text));
  return out;
}

bool loader::expect(const toml::node& node, node_type type, std::string_view key) {
  if (node.type() == type) return true;
  error(node, key,
        "expected " + std::string(type_name(type)) + ", got " +
            std::string(type_name(node.type())));
  return false;
}

// The node under `key` when it is present and of `type`; a wrong type is reported.
const toml::node* loader::find(const toml::table& table, std::string_view key, node_type type,
                               std::string_view base) {
  const toml::node* node = table.get(key);
  return node != nullptr && expect(*node, type, join(base, key)) ? node : nullptr;
}

void loader::check_keys(const toml::table& table, key_list allowed, std::string_view base) {
  for (const auto& [key, value] : table) {
    if (!contains(allowed, key.str()))
      error(key.source().begin, join(base, key.str()), "unknown key");
  }
}

void loader::read_ip_protocol(const toml::table& table, std::string_view base, std::string& out) {
  if (const toml::node* node = find(table, "ip_protocol", node_type::string, base)) {
    const std::string& value = node->as_string()->get();
    if (contains(ip_protocols, value)) {
      out = value;
    } else {
      error(*node, join(base, "ip_protocol"),
            "unknown IP protocol " + quote_value(value) + " (expected " + one_of(ip_protocols) + ")");
    }
  }
}

void loader::read_string(const toml::table& table, std::string_view key, std::string_view base,
                         std::string& out) {
  if (const toml::node* node = find(table, key, node_type::string, base))
    out = node->as_string()->get();
}

void loader::read_bool(const toml::table& table, std::string_view key, std::string_view base,
                       bool& out) {
  if (const toml::node* node = find(table, key, node_type::boolean, base))
    out = node->as_boolean()->get();
}

// Leaves `out` alone unless the key holds a valid, positive duration.
bool loader::read_duration(const toml::table& table, std::string_view key, std::string_view base,
                           duration& out) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return false;
  const std::string path = join(base, key);
  if (!node->is_string()) {
    error(*node, path,
          "expected a duration string such as \"30s\", got " +
              std::string(type_name(node->type())));
    return false;
  }
  const std::string& text = node->as_string()->get();
  const std::optional<duration> parsed = parse_duration(text);
  if (!parsed) {
    error(*node, path,
          "invalid duration " + quote_value(text) +
              " (want an integer and a unit: ms, s, m, h; e.g. \"1m30s\")");
  } else if (parsed->count() == 0) {
    error(*node, path, "must be greater than 0");
  } else if (*parsed > max_duration) {
    error(*node, path, "must be at most 168h (7 days)");
  } else {
    out = *parsed;
    return true;
  }
  return false;
}

void loader::read_ehlo_name(const toml::table& table, std::string_view base, std::string& out) {
  const toml::node* node = find(table, "ehlo_name", node_type::string, base);
  if (node == nullptr) return;
  const std::string& value = node->as_string()->get();
  if (const auto problem = hostname_problem(value)) {
    error(*node, join(base, "ehlo_name"), *problem);
  } else {
    out = value;
  }
}

void loader::read_probes(const toml::table& table, std::string_view base,
                         std::array<bool, probe_count>& out) {
  const toml::node* node = find(table, "probes", node_type::array, base);
  if (node == nullptr) return;
  const std::string path = join(base, "probes");
  const toml::array& list = *node->as_array();
  if (list.empty()) return error(*node, path, "must list at least one probe");
  std::array<bool, probe_count> probes{};
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string item = path + '[' + std::to_string(i) + ']';
    if (!expect(list[i], node_type::string, item)) continue;
    const std::string& name = list[i].as_string()->get();
    if (const std::optional<probe> p = parse_probe(name); !p) {
      error(list[i], item,
            "unknown probe " + quote_value(name) + " (expected " + one_of(probe_names) + ")");
    } else if (bool& listed = probes[static_cast<std::size_t>(*p)]; listed) {
      error(list[i], item, "probe " + quote_value(name) + " is listed twice");
    } else {
      listed = true;
    }
  }
  out = probes;
}

void loader::parse_defaults(const toml::table& table, defaults_block& out) {
  constexpr std::string_view base = "defaults";
  check_keys(table, defaults_keys, base);
  const std::size_t errors_before = errors_.size();
  read_duration(table, "interval", base, out.interval);
  read_duration(table, "timeout", base, out.timeout);
  for (std::size_t p = 0; p < probe_count; ++p) {
    duration value{};
    if (read_duration(table, probe_interval_keys[p], base, value)) out.probe_interval[p] = value;
  }
  read_probes(table, base, out.probes);
  if (errors_.size() == errors_before) {
    std::array<duration, probe_count> intervals{};
    for (std::size_t p = 0; p < probe_count; ++p)
      intervals[p] = out.probe_interval[p].value_or(default_probe_interval(p, out.interval));
    check_timeout(table, base, out.probes, intervals, out.timeout);
  }
  read_ehlo_name(table, base, out.ehlo_name);
  read_bool(table, "allow_plaintext", base, out.allow_plaintext);
  read_bool(table, "allow_unverified_credentials", base, out.allow_unverified_credentials);
  read_ip_protocol(table, base, out.ip_protocol);
  if (const toml::node* node = find(table, "tls", node_type::table, base)) {
    check_keys(*node->as_table(), key_list(tls_keys).first(std::size(tls_keys) - 1),
               "defaults.tls");
    parse_tls(*node->as_table(), "defaults.tls", out.tls, out.tls_files);
  }
}

// A run allowed to outlast the gap to the target's next run would overlap with it.
void loader::check_timeout(const toml::table& table, std::string_view base,
                           const std::array<bool, probe_count>& probes,
                           const std::array<duration, probe_count>& intervals, duration timeout) {
  std::optional<duration> shortest;
  for (std::size_t p = 0; p < probe_count; ++p) {
    if (probes[p] && (!shortest || intervals[p] < *shortest)) shortest = intervals[p];
  }
  if (!shortest || timeout <= *shortest) return;
  const toml::node* node = table.get("timeout");
  error(node != nullptr ? node->source().begin : table.source().begin, join(base, "timeout"),
        "timeout must not exceed the shortest interval (" + format_duration(timeout) + " > " +
            format_duration(*shortest) + ")");
}

// Fills `out` over what it already holds, so a target's table refines [defaults.tls].
void loader::parse_tls(const toml::table& table, std::string_view base, tls_settings& out,
                       tls_file_sources& files) {
  read_string(table, "server_name", base, out.server_name);
  // Files are opened when the exporter applies the config; their errors point back here.
  const struct {
    std::string_view key;
    std::string* value;
    key_source* source;
  } paths[] = {{"ca_file", &out.ca_file, &files.ca_file},
               {"cert_file", &out.cert_file, &files.cert_file},
               {"key_file", &out.key_file, &files.key_file}};
  for (const auto& path : paths) {
    if (const toml::node* node = find(table, path.key, node_type::string, base)) {
      *path.value = node->as_string()->get();
      *path.source = {position(node->source().begin), join(base, path.key)};
    }
  }
  read_bool(table, "insecure_skip_verify", base, out.insecure_skip_verify);
  if (const toml::node* node = find(table, "min_tls_version", node_type::string, base)) {
    const std::string& value = node->as_string()->get();
    if (contains(tls_versions, value)) {
      out.min_version = value;
    } else {
      error(*node, join(base, "min_tls_version"),
            "unknown TLS version " + quote_value(value) + " (expected " + one_of(tls_versions) +
                ")");
    }
  }
  // A certificate cannot be presented without its key, and a key alone is useless.
  if (out.cert_file.empty() != out.key_file.empty()) {
    const std::string_view missing = out.cert_file.empty() ? "cert_file" : "key_file";
    const std::string_view present = out.cert_file.empty() ? "key_file" : "cert_file";
    error(table.source().begin, join(base, missing),
          std::string(missing) + " is required when " + std::string(present) + " is set");
  }
}

std::optional<envelope_settings> loader::parse_envelope(
    const toml::table& table, std::string_view base, const indirect_optional<auth_settings>& auth) {
  check_keys(table, envelope_keys, base);
  const std::size_t errors_before = errors_.size();
  envelope_settings out;
  if (const toml::node* node = find(table, "mail_from", node_type::string, base)) {
    out.mail_from = node->as_string()->get();
    if (const auto problem = address_problem(out.mail_from))
      error(*node, join(base, "mail_from"), *problem);
  } else if (auth && !address_problem(auth->username)) {
    out.mail_from = auth->username;
  } else if (!table.contains("mail_from")) {
    error(table.source().begin, join(base, "mail_from"),
          "mail_from is required (the auth username is not an address)");
  }
  if (const toml::node* node = find(table, "rcpt_to", node_type::string, base)) {
    out.rcpt_to = node->as_string()->get();
    if (const auto problem = address_problem(out.rcpt_to))
      error(*node, join(base, "rcpt_to"), *problem);
  } else if (!table.contains("rcpt_to")) {
    error(table.source().begin, join(base, "rcpt_to"), "rcpt_to is required");
  }
  if (errors_.size() != errors_before) return std::nullopt;
  return out;
}

std::optional<auth_settings> loader::parse_auth(const toml::table& table, std::string_view base,
                                                const std::string& target_name) {
  check_keys(table, auth_keys, base);
  const std::size_t errors_before = errors_.size();
  auth_settings auth;
  if (!table.contains("username"))
    error(table.source().begin, join(base, "username"), "username is required");
  if (const toml::node* node = find(table, "username", node_type::string, base)) {
    auth.username = node->as_string()->get();
    if (auth.username.empty()) error(*node, join(base, "username"), "must not be empty");
  }
  const toml::node* mechanism = find(table, "mechanism", node_type::string, base);
  bool mechanism_valid = table.get("mechanism") == nullptr || mechanism != nullptr;
  if (mechanism != nullptr) {
    const std::string& value = mechanism->as_string()->get();
    const std::optional<auth_mechanism> parsed = parse_auth_mechanism(value);
    mechanism_valid = parsed.has_value();
    if (parsed) {
      auth.mechanism = *parsed;
    } else {
      error(*mechanism, join(base, "mechanism"),
            "unknown mechanism " + quote_value(value) +
                " (expected auto, PLAIN, LOGIN, CRAM-MD5 or XOAUTH2)");
    }
  }

  // In file order, so a conflict is reported on the source written second.
  std::vector<std::pair<const toml::node*, std::string_view>> sources;
  for (const std::string_view key : secret_keys) {
    if (const toml::node* node = table.get(key)) sources.emplace_back(node, key);
  }
  std::sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) {
    return before(a.first->source().begin, b.first->source().begin);
  });
  for (std::size_t i = 1; i < sources.size(); ++i) {
    error(*sources[i].first, join(base, sources[i].second),
          "conflicts with " + std::string(sources[0].second) + "; set exactly one of " +
              one_of(secret_keys));
  }
  std::string* const fields[] = {&auth.password_file, &auth.password_env, nullptr,
                                 &auth.token_file};
  for (std::size_t k = 0; k < std::size(secret_keys); ++k) {
    const toml::node* node = find(table, secret_keys[k], node_type::string, base);
    if (node == nullptr) continue;
    const std::string& value = node->as_string()->get();
    const std::string path = join(base, secret_keys[k]);
    if (value.empty()) {
      error(*node, path, "must not be empty");
    } else if (secret_keys[k] == "password_env" && !is_identifier(value)) {
      error(*node, path, "must be an environment variable name such as \"SMTP_PASSWORD\"");
    } else if (fields[k] != nullptr) {
      *fields[k] = value;
    } else {
      auth.password = shared_secret(value);
    }
    if (secret_keys[k] == "password") {
      // toml++'s copy goes away with the parsed tree: wipe it first. The tree is ours and not
      // const; only this accessor is.
      cleanse(const_cast<std::string&>(value));
      report(warnings_, node->source().begin, path,
             "inline password for target " + quote_value(target_name) +
                 "; prefer password_file or password_env to keep the secret out of the config");
    }
  }

  const bool wants_token = auth.mechanism == auth_mechanism::xoauth2;
  if (sources.empty()) {
    error(table.source().begin, base,
          wants_token ? "token_file is required for mechanism XOAUTH2"
                      : "one of " + one_of(secret_keys) + " is required");
  } else if (sources.size() == 1 && mechanism_valid) {
    const bool has_token = sources[0].second == "token_file";
    if (wants_token && !has_token) {
      error(*mechanism, join(base, "mechanism"), "XOAUTH2 takes token_file, not a password");
    } else if (has_token && !wants_token && auth.mechanism != auth_mechanism::automatic) {
      error(*mechanism, join(base, "mechanism"),
            "token_file works only with mechanism XOAUTH2 or auto");
    }
  }
  if (errors_.size() != errors_before) return std::nullopt;
  return auth;
}

void loader::parse_labels(const toml::table& table, std::string_view base, target& out) {
  for (const auto& [key, value] : table) {
    const std::string_view name = key.str();
    const std::string path = join(base, name);
    if (!is_identifier(name)) {
      error(key.source().begin, path, "invalid label name (must match [a-zA-Z_][a-zA-Z0-9_]*)");
    } else if (name.starts_with("__")) {
      error(key.source().begin, path,
            "label names starting with \"__\" are reserved for Prometheus");
    } else if (contains(reserved_label_names, name)) {
      error(key.source().begin, path,
            "label name " + quote_value(name) + " is used by the exporter itself");
    } else if (expect(value, node_type::string, path)) {
      out.labels.emplace_back(std::string(name), value.as_string()->get());
    }
  }
  std::sort(out.labels.begin(), out.labels.end());
}

void loader::parse_target(const toml::table& table, const std::string& base,
                          const defaults_block& defaults, exporter_config& config,
                          probe_module* module) {
  check_keys(table, module != nullptr ? key_list(module_keys) : key_list(target_keys), base);
  const toml::source_position at = table.source().begin;
  const std::size_t errors_before = errors_.size();
  target out;

  if (module != nullptr) out.name = module->name;
  if (!table.contains("name") && module == nullptr)
    error(at, join(base, "name"), "name is required");
  if (const toml::node* node = find(table, "name", node_type::string, base)) {
    out.name = node->as_string()->get();
    const std::string path = join(base, "name");
    if (out.name.empty()) {
      error(*node, path, "must not be empty");
    } else if (out.name.size() > max_name_length) {
      error(*node, path, "must be at most 128 bytes long, got " + std::to_string(out.name.size()));
    } else if (std::any_of(out.name.begin(), out.name.end(), is_control)) {
      error(*node, path, "must not contain control characters");
    } else if (const auto [first, inserted] =
                   first_line_of_name_.try_emplace(out.name, node->source().begin.line);
               !inserted) {
      error(*node, path,
            "duplicate target name " + quote_value(out.name) + " (first used on line " +
                std::to_string(first->second) + ")");
    }
  }

  // After an unknown provider, "host is required" would only repeat the same problem.
  const bool names_provider = table.contains("provider");
  const provider_preset* preset = nullptr;
  if (const toml::node* node = find(table, "provider", node_type::string, base)) {
    const std::string& name = node->as_string()->get();
    preset = find_provider(name);
    if (preset != nullptr) {
      out.provider = preset->name;
    } else {
      std::vector<std::string_view> known;
      for (const provider_preset& p : provider_presets()) known.push_back(p.name);
      error(*node, join(base, "provider"),
            "unknown provider " + quote_value(name) + " (expected " + one_of(known) + ")");
    }
  }

  if (const toml::node* node = find(table, "host", node_type::string, base)) {
    out.host = node->as_string()->get();
    if (const auto problem = hostname_problem(out.host)) error(*node, join(base, "host"), *problem);
  } else if (preset != nullptr) {
    out.host = preset->host;
  } else if (!names_provider && !table.contains("host") && module == nullptr) {
    error(at, join(base, "host"), "host is required (or set provider)");
  }

  if (const toml::node* node = find(table, "port", node_type::integer, base)) {
    const std::int64_t port = node->as_integer()->get();
    if (port >= 1 && port <= 65535) {
      out.port = static_cast<std::uint16_t>(port);
    } else {
      error(*node, join(base, "port"),
            "port must be between 1 and 65535, got " + std::to_string(port));
    }
  } else if (preset != nullptr) {
    out.port = preset->ports.front().port;
  } else if (!names_provider && !table.contains("port") && module == nullptr) {
    error(at, join(base, "port"), "port is required (or set provider)");
  }
  if (out.port != 0) out.tls = tls_mode_for_port(preset, out.port);

  // `tls` is either the mode ("implicit") or the [target.tls] table, which then carries `mode`:
  // TOML cannot give one key both a string and a table.
  // Targets without a [target.tls] table of their own share the defaults' settings.
  if (!(defaults_tls_ == defaults.tls)) defaults_tls_ = defaults.tls;
  out.tls_config = defaults_tls_;
  tls_file_sources tls_files = defaults.tls_files;
  const toml::node* mode_node = nullptr;
  std::string mode_path = join(base, "tls");
  if (const toml::node* node = table.get("tls")) {
    if (const toml::table* tls = node->as_table()) {
      check_keys(*tls, tls_keys, mode_path);
      parse_tls(*tls, mode_path, out.tls_config.edit(), tls_files);
      mode_node = tls->get("mode");
      mode_path = join(mode_path, "mode");
    } else if (node->is_string()) {
      mode_node = node;
    } else {
      error(*node, mode_path,
            "expected string or table, got " + std::string(type_name(node->type())));
    }
  }
  bool mode_valid = mode_node == nullptr;
  if (mode_node != nullptr && expect(*mode_node, node_type::string, mode_path)) {
    const std::string& value = mode_node->as_string()->get();
    const std::optional<tls_mode> mode = parse_tls_mode(value);
    mode_valid = mode.has_value();
    if (mode) {
      out.tls = *mode;
    } else {
      error(*mode_node, mode_path,
            "unknown tls mode " + quote_value(value) + " (expected none, starttls or implicit)");
    }
  }

  const std::size_t timing_errors_before = errors_.size();
  out.probes = defaults.probes;
  read_probes(table, base, out.probes);
  const bool probes_valid = errors_.size() == timing_errors_before;
  out.interval = defaults.interval;
  read_duration(table, "interval", base, out.interval);
  for (std::size_t p = 0; p < probe_count; ++p) {
    out.probe_interval[p] =
        defaults.probe_interval[p].value_or(default_probe_interval(p, out.interval));
    read_duration(table, probe_interval_keys[p], base, out.probe_interval[p]);
  }
  out.timeout = defaults.timeout;
  read_duration(table, "timeout", base, out.timeout);
  // Timing inherited unchanged from [defaults] was checked there; one error is enough.
  const bool sets_timing = std::any_of(std::begin(timing_keys), std::end(timing_keys),
                                       [&](std::string_view key) { return table.contains(key); });
  if (errors_.size() == timing_errors_before && sets_timing && module == nullptr)
    check_timeout(table, base, out.probes, out.probe_interval, out.timeout);

  out.ehlo_name = defaults.ehlo_name;
  read_ehlo_name(table, base, out.ehlo_name);
  out.ip_protocol = defaults.ip_protocol;
  read_ip_protocol(table, base, out.ip_protocol);
  out.allow_plaintext = defaults.allow_plaintext;
  const toml::node* plaintext = table.get("allow_plaintext");
  read_bool(table, "allow_plaintext", base, out.allow_plaintext);
  const bool plaintext_valid = plaintext == nullptr || plaintext->is_boolean();
  out.allow_unverified_credentials = defaults.allow_unverified_credentials;
  read_bool(table, "allow_unverified_credentials", base, out.allow_unverified_credentials);
  if (const toml::node* node = find(table, "labels", node_type::table, base))
    parse_labels(*node->as_table(), join(base, "labels"), out);

  if (const toml::node* node = find(table, "auth", node_type::table, base))
    out.auth = parse_auth(*node->as_table(), join(base, "auth"), out.name);
  if (probes_valid && out.has(probe::auth) && !table.contains("auth"))
    error(at, join(base, "auth"), "auth is required when probes include \"auth\"");
  if (const toml::node* node = find(table, "envelope", node_type::table, base))
    out.envelope = parse_envelope(*node->as_table(), join(base, "envelope"), out.auth);
  if (probes_valid && out.has(probe::envelope) && !table.contains("envelope"))
    error(at, join(base, "envelope"), "envelope is required when probes include \"envelope\"");
  if (out.tls_config->insecure_skip_verify && !out.allow_unverified_credentials &&
      (out.has(probe::auth) || out.has(probe::envelope))) {
    report(warnings_, at, join(base, "tls.insecure_skip_verify"),
           "credentials and the envelope are withheld when the certificate does not verify "
           "(those probes fail with unverified_tls_refused); set allow_unverified_credentials = "
           "true to send them anyway");
  }

  // Neither presets nor the port rule yield "none", so it was written here and mode_node is set.
  if (mode_valid && out.tls == tls_mode::none && probes_valid) {
    if (out.has(probe::tls))
      error(*mode_node, mode_path, "\"none\" cannot run the \"tls\" probe; remove it from probes");
    if (out.has(probe::auth) && plaintext_valid && !out.allow_plaintext)
      error(*mode_node, mode_path,
            "\"none\" would send credentials in clear text; set allow_plaintext = true to allow "
            "it");
    if (out.has(probe::envelope) && plaintext_valid && !out.allow_plaintext)
      error(*mode_node, mode_path,
            "\"none\" would send the envelope in clear text; set allow_plaintext = true to allow "
            "it");
  }

  if (module != nullptr) {
    module->tls_explicit = mode_node != nullptr;
    out.host.clear();
    out.port = 0;
    module->settings = std::move(out);
    module->tls_files = std::move(tls_files);
  } else if (errors_.size() == errors_before) {
    config.targets.push_back(std::move(out));
    config.tls_files.push_back(std::move(tls_files));
  }
}

// [module.NAME] tables, by name (TOML tables are ordered by key).
void loader::parse_modules(const toml::table& table, const defaults_block& defaults,
                           exporter_config& config) {
  const auto report_to = [this](std::vector<diagnostic>& to) {
    return [this, &to](toml::source_position at, std::string_view key, std::string_view message) {
      report(to, at, key, message);
    };
  };
  for (const auto& [key, value] : table) {
    const std::string base = join("module", key.str());
    if (!detail::valid_module_name(key.str())) {
      error(key.source().begin, base,
            "module names may hold only letters, digits, \"_\", \"-\" and \".\" (1 to 128)");
      continue;
    }
    if (!expect(value, node_type::table, base)) continue;
    const std::size_t errors_before = errors_.size();
    probe_module module;
    module.name = std::string(key.str());
    parse_target(*value.as_table(), base, defaults, config, &module);
    detail::read_module_keys(*value.as_table(), base, module, report_to(errors_),
                             report_to(warnings_));
    if (errors_.size() == errors_before) config.modules.push_back(std::move(module));
  }
}

// ---- [dnsbl] ----------------------------------------------------------------------------------

void loader::read_servers(const toml::table& table, std::string_view base,
                          std::vector<std::string>& out) {
  const toml::node* node = find(table, "servers", node_type::array, base);
  if (node == nullptr) return;
  const std::string path = join(base, "servers");
  const toml::array& list = *node->as_array();
  if (list.size() > 8) return error(*node, path, "at most 8 servers");
  std::vector<std::string> servers;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string item = path + '[' + std::to_string(i) + ']';
    if (!expect(list[i], node_type::string, item)) continue;
    const std::string& value = list[i].as_string()->get();
    if (const std::string problem = dns_server_problem(value); !problem.empty()) {
      error(list[i], item, quote_value(value) + ": " + problem);
    } else {
      servers.push_back(value);
    }
  }
  out = std::move(servers);
}

// A string that must be one of `choices`; `out` keeps its value otherwise.
void loader::read_choice(const toml::table& table, std::string_view key, std::string_view base,
                         key_list choices, std::string_view what, std::string& out) {
  const toml::node* node = find(table, key, node_type::string, base);
  if (node == nullptr) return;
  const std::string& value = node->as_string()->get();
  if (contains(choices, value)) {
    out = value;
  } else {
    error(*node, join(base, key),
          "unknown " + std::string(what) + " " + quote_value(value) + " (expected " +
              one_of(choices) + ")");
  }
}

void loader::read_count(const toml::table& table, std::string_view key, std::string_view base,
                        std::size_t low, std::size_t high, std::size_t& out) {
  const toml::node* node = find(table, key, node_type::integer, base);
  if (node == nullptr) return;
  const std::int64_t value = node->as_integer()->get();
  if (value < static_cast<std::int64_t>(low) || value > static_cast<std::int64_t>(high)) {
    error(*node, join(base, key),
          "must be between " + std::to_string(low) + " and " + std::to_string(high) + ", got " +
              std::to_string(value));
  } else {
    out = static_cast<std::size_t>(value);
  }
}

// A lookup allowed to outlast its zone's interval would overlap with the next round.
void loader::check_dnsbl_timeout(const toml::table& table, std::string_view base,
                                 duration interval, duration timeout) {
  if (timeout < interval) return;
  const toml::node* node = table.get("timeout");
  error(node != nullptr ? node->source().begin : table.source().begin, join(base, "timeout"),
        "timeout must be shorter than the interval (" + format_duration(timeout) +
            " >= " + format_duration(interval) + ")");
}

void loader::parse_discovery(const toml::table& table, egress_discovery& out) {
  constexpr std::string_view base = "dnsbl.discovery";
  check_keys(table, discovery_keys, base);
  if (!table.contains("method")) error(table.source().begin, join(base, "method"),
                                       "method is required");
  read_choice(table, "method", base, discovery_methods, "method", out.method);
  if (const toml::node* node = find(table, "name", node_type::string, base)) {
    if (const auto problem = hostname_problem(node->as_string()->get())) {
      error(*node, join(base, "name"), *problem);
    } else {
      out.name = node->as_string()->get();
    }
  }
  if (const toml::node* node = find(table, "server", node_type::string, base)) {
    const std::string& value = node->as_string()->get();
    if (const std::string problem = dns_server_problem(value); !problem.empty()) {
      error(*node, join(base, "server"), quote_value(value) + ": " + problem);
    } else {
      out.server = value;
    }
  }
  if (const toml::node* node = find(table, "record", node_type::string, base)) {
    if (out.method != "custom" && !out.method.empty()) {
      error(*node, join(base, "record"), "only a \"custom\" method takes a record type");
    } else {
      read_choice(table, "record", base, discovery_records, "record type", out.record);
    }
  }
  if (const toml::node* node = table.get("ip6"); node != nullptr && out.method == "custom") {
    error(*node, join(base, "ip6"), "a \"custom\" method sets record = \"AAAA\" instead");
  } else {
    read_bool(table, "ip6", base, out.ip6);
  }
  if (out.method == "custom") {
    if (out.name.empty() && !table.contains("name"))
      error(table.source().begin, join(base, "name"), "name is required for method \"custom\"");
    if (out.server.empty() && !table.contains("server"))
      error(table.source().begin, join(base, "server"),
            "server is required for method \"custom\"");
    if (out.record.empty()) out.record = "A";
  }
  const std::size_t errors_before = errors_.size();
  read_duration(table, "interval", base, out.interval);
  read_duration(table, "timeout", base, out.timeout);
  if (errors_.size() == errors_before) check_dnsbl_timeout(table, base, out.interval, out.timeout);
}

void loader::parse_dnsbl_zone(const toml::table& table, const std::string& base,
                              const dnsbl_settings& section, duration interval, duration timeout,
                              dnsbl_zone& out) {
  check_keys(table, dnsbl_zone_keys, base);
  if (!table.contains("name")) error(table.source().begin, join(base, "name"), "name is required");
  if (const toml::node* node = find(table, "name", node_type::string, base)) {
    std::string name = node->as_string()->get();
    if (!name.empty() && name.back() == '.') name.pop_back();
    const bool valid_chars = std::all_of(name.begin(), name.end(), [](char c) {
      return is_word_char(c) || c == '-' || c == '.';
    });
    if (name.empty() || !valid_chars || name.front() == '.' || name.find("..") != std::string::npos ||
        name.size() > 200) {
      error(*node, join(base, "name"),
            "must be a DNS zone name such as \"zen.spamhaus.org\" (letters, digits, '-', '_', "
            "'.'; at most 200 bytes)");
    } else {
      out.name = name;
    }
  }
  out.servers = section.servers;
  read_servers(table, base, out.servers);
  // The key itself is never quoted back: it is a credential.
  for (const std::string_view key : {std::string_view("dqs_key_file"), std::string_view("dqs_key_env")}) {
    const toml::node* node = find(table, key, node_type::string, base);
    if (node == nullptr) continue;
    const std::string& value = node->as_string()->get();
    if (value.empty()) {
      error(*node, join(base, key), "must not be empty");
    } else if (key == "dqs_key_env" && !is_identifier(value)) {
      error(*node, join(base, key), "must be an environment variable name such as \"DQS_KEY\"");
    } else {
      (key == "dqs_key_file" ? out.dqs_key_file : out.dqs_key_env) = value;
    }
  }
  if (table.contains("dqs_key_file") && table.contains("dqs_key_env"))
    error(*table.get("dqs_key_env"), join(base, "dqs_key_env"),
          "conflicts with dqs_key_file; set one of them");
  out.interval = interval;
  out.timeout = timeout;
  const std::size_t errors_before = errors_.size();
  read_duration(table, "interval", base, out.interval);
  read_duration(table, "timeout", base, out.timeout);
  if (errors_.size() == errors_before && (table.contains("interval") || table.contains("timeout")))
    check_dnsbl_timeout(table, base, out.interval, out.timeout);
  read_bool(table, "blocking", base, out.blocking);
  read_string(table, "delist_url", base, out.delist_url);
}

void loader::parse_dnsbl(const toml::table& table, dnsbl_settings& out) {
  constexpr std::string_view base = "dnsbl";
  check_keys(table, dnsbl_keys, base);
  read_bool(table, "enabled", base, out.enabled);
  read_bool(table, "check_targets", base, out.check_targets);
  read_count(table, "max_target_ips", base, 1, 16, out.max_target_ips);
  read_count(table, "max_in_flight", base, 1, 1024, out.max_in_flight);
  read_servers(table, base, out.servers);
  if (const toml::node* node = find(table, "egress_ips", node_type::array, base)) {
    const std::string path = join(base, "egress_ips");
    const toml::array& list = *node->as_array();
    if (list.size() > max_egress_ips) {
      error(*node, path, "at most " + std::to_string(max_egress_ips) + " addresses");
    } else {
      for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string item = path + '[' + std::to_string(i) + ']';
        if (!expect(list[i], node_type::string, item)) continue;
        const std::string& value = list[i].as_string()->get();
        if (!is_ip_literal(value)) {
          error(list[i], item, quote_value(value) + ": must be an IPv4 or IPv6 address");
        } else if (std::find(out.egress_ips.begin(), out.egress_ips.end(), value) !=
                   out.egress_ips.end()) {
          error(list[i], item, quote_value(value) + " is listed twice");
        } else {
          out.egress_ips.push_back(value);
        }
      }
    }
  }
  if (const toml::node* node = find(table, "discovery", node_type::table, base))
    parse_discovery(*node->as_table(), out.discovery);

  duration interval = std::chrono::minutes(15);
  duration timeout = std::chrono::seconds(5);
  const std::size_t timing_errors_before = errors_.size();
  read_duration(table, "interval", base, interval);
  read_duration(table, "timeout", base, timeout);
  if (errors_.size() == timing_errors_before) check_dnsbl_timeout(table, base, interval, timeout);
  if (const toml::node* node = table.get("interval"); node != nullptr && interval < 5min &&
                                                     errors_.size() == timing_errors_before) {
    report(warnings_, node->source().begin, "dnsbl.interval",
           "below 5m: list operators ask for no more than a query per IP every few minutes");
  }

  if (const toml::node* node = table.get("zone")) {
    const toml::array* zones = node->as_array();
    if (zones == nullptr) {
      error(*node, "dnsbl.zone",
            "expected array of tables, got " + std::string(type_name(node->type())));
    } else if (zones->size() > max_dnsbl_zones) {
      error(*node, "dnsbl.zone", "at most " + std::to_string(max_dnsbl_zones) + " zones");
    } else {
      std::unordered_map<std::string, std::uint32_t> first_line;
      for (std::size_t i = 0; i < zones->size(); ++i) {
        const std::string zone_base = "dnsbl.zone[" + std::to_string(i) + "]";
        if (!expect((*zones)[i], node_type::table, zone_base)) continue;
        const toml::table& zone_table = *(*zones)[i].as_table();
        dnsbl_zone zone;
        const std::size_t errors_before = errors_.size();
        parse_dnsbl_zone(zone_table, zone_base, out, interval, timeout, zone);
        if (errors_.size() != errors_before) continue;
        const auto [first, inserted] =
            first_line.try_emplace(zone.name, zone_table.source().begin.line);
        if (!inserted) {
          error(*zone_table.get("name"), join(zone_base, "name"),
                "duplicate zone " + quote_value(zone.name) + " (first used on line " +
                    std::to_string(first->second) + ")");
          continue;
        }
        out.zones.push_back(std::move(zone));
      }
    }
  } else {
    for (dnsbl_zone zone : default_dnsbl_zones()) {
      zone.servers = out.servers;
      zone.interval = interval;
      zone.timeout = timeout;
      out.zones.push_back(std::move(zone));
    }
  }
  if (out.enabled && out.egress_ips.empty() && out.discovery.method.empty() && !out.check_targets)
    error(table.source().begin, base,
          "enabled, but nothing to check: set egress_ips, [dnsbl.discovery] or check_targets");
}

}  // namespace

std::string key_source::error(std::string_view message) const {
  return position + ": " + key + ": " + std::string(message);
}

load_result load_string(std::string_view toml_text, std::string_view source_name) {
  return loader(source_name).run(toml_text);
}

}  // namespace smtp_exporter::config
