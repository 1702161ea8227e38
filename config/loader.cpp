// The TOML loader's core: diagnostics (every problem a positioned "FILE:LINE:COLUMN: KEY: message",
// collected in one pass so an operator fixes a whole file in one edit-reload cycle), the generic
// readers, and the table of top-level sections. The sections themselves are read in targets.cpp,
// modules.cpp and dnsbl.cpp. No value of [target.auth] is ever quoted back: messages there name
// keys, not contents.
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/numeric_host.hpp"
#include "config/config.hpp"
#include "config/detail/loader.hpp"

namespace smtp_exporter::config {
namespace detail {

using toml::node_type;

namespace {

// Intervals and timeouts are added to steady_clock time points (nanoseconds); a bound keeps that
// arithmetic far from overflow, and no probe needs to run less than weekly.
constexpr duration max_duration = std::chrono::hours(168);

// "FILE:LINE:COLUMN", as every config error begins.
std::string position_text(const std::string& source, toml::source_position at) {
  return source + ':' + std::to_string(at.line) + ':' + std::to_string(at.column);
}

// toml++ quotes text of the file in its messages: what it "saw", a number it cannot hold ("'…'
// is not representable in 64 bits"), an escape sequence it does not know ("'\\q'"). Any of it may
// be part of a secret, on any line: inside a multi-line string the line that says `password` is
// above the one in error, and a misspelled key (`pasword`) does not say it at all (issue 24,
// finding 11). So every quoted part is left out but toml++'s own words (what it expected) and
// key names (a key defined twice).
bool quote_is_toml_own(std::string_view before) {
  constexpr std::string_view own[] = {"expected ", "' or ", "' after ", "cannot insert ",
                                      "existing table "};
  for (const std::string_view ending : own) {
    if (before.ends_with(ending)) return true;
  }
  // "cannot redefine existing string 'name'": a key, after the kind of node it names.
  const auto existing = before.rfind("existing ");
  return existing != std::string_view::npos && before.ends_with(" ") &&
         before.substr(existing + 9, before.size() - existing - 10).find(' ') ==
             std::string_view::npos;
}

// In every toml++ message the file's text is the last quoted part, and it may hold quotes
// itself: so from the first quote that is not toml++'s own to the message's last quote,
// everything is left out.
std::string without_file_text(std::string_view description) {
  std::string out;
  std::size_t at = 0;
  while (at < description.size()) {
    const auto open = description.find('\'', at);
    if (open == std::string_view::npos) {
      out.append(description.substr(at));
      break;
    }
    out.append(description.substr(at, open - at));
    const auto close = description.find('\'', open + 1);
    if (close != std::string_view::npos && quote_is_toml_own(description.substr(0, open))) {
      out.append(description.substr(open, close - open + 1));
      at = close + 1;
      continue;
    }
    out += "'(not shown)'";
    at = description.rfind('\'') + 1;
  }
  return out;
}

template <class parse_error>
load_result syntax_error(const std::string& source, const parse_error& e) {
  const toml::source_position at = e.source().begin;
  load_result result;
  result.errors.push_back(position_text(source, at) + ": syntax error: " +
                          without_file_text(e.description()));
  return result;
}

// TOML allows no control characters but tab, CR and LF outside comments, and toml++ 3.3 trips
// an internal assertion (undefined behaviour in release builds) on some, e.g. a NUL in a table
// header, found by tests/fuzz. Such bytes are rejected here, before toml++ sees them. The
// message says where, never which: the byte may be one of a secret's.
std::optional<std::string> control_character_error(std::string_view source, std::string_view text) {
  std::size_t line = 1, column = 1;
  for (unsigned char c : text) {
    if (c == '\n') {
      ++line;
      column = 1;
      continue;
    }
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
      return std::string(source) + ':' + std::to_string(line) + ':' + std::to_string(column) +
             ": syntax error: a control character (other than tab, CR and LF) is not allowed in "
             "TOML";
    }
    ++column;
  }
  return std::nullopt;
}

}  // namespace

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

bool is_identifier(std::string_view s) {
  return !s.empty() && !(s[0] >= '0' && s[0] <= '9') &&
         std::all_of(s.begin(), s.end(), is_word_char);
}

bool contains(key_list keys, std::string_view key) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

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
  if (is_noncanonical_numeric_host(s)) return std::string(numeric_host_message);
  return std::nullopt;
}

bool before(toml::source_position a, toml::source_position b) {
  return a.line != b.line ? a.line < b.line : a.column < b.column;
}

std::span<const loader::section> loader::sections() {
  // [defaults] first: targets and modules start from it.
  static constexpr section table[] = {
      {"defaults", &loader::read_defaults},
      {"target", &loader::read_targets},
      {"dnsbl", &loader::read_dnsbl},
      {"sender", &loader::read_sender},
      {"module", &loader::read_modules},
  };
  return table;
}

std::string loader::position(toml::source_position at) const { return position_text(source_, at); }

void loader::report(std::vector<diagnostic>& to, toml::source_position at, std::string_view key,
                    std::string_view message) {
  to.push_back({at, key_source{position(at), std::string(key)}.error(message)});
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
    return syntax_error(source_, e);
  }
#else
  toml::parse_result parsed = toml::parse(text, std::string_view{source_});
  if (!parsed) return syntax_error(source_, parsed.error());
  root = std::move(parsed).table();
#endif
  std::vector<std::string_view> top_keys;
  for (const section& s : sections()) top_keys.push_back(s.key);
  check_keys(root, top_keys, "");
  // [defaults] ehlo_name, when valid, replaces it.
  defaults_.ehlo_name = default_ehlo_name();
  exporter_config config;
  for (const section& s : sections()) {
    if (const toml::node* node = root.get(s.key)) (this->*s.read)(*node, config);
  }

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

void loader::check_keys(const toml::table& table, std::uint8_t scopes, std::string_view base) {
  for (const auto& [key, value] : table) {
    const std::string_view name = key.str();  // clang 14 (the fuzz build) captures no bindings
    const bool allowed =
        std::any_of(std::begin(target_keys), std::end(target_keys), [&](const target_key& k) {
          return (k.scopes & scopes) != 0 && k.name == name;
        });
    if (!allowed) error(key.source().begin, join(base, name), "unknown key");
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

}  // namespace detail

std::string key_source::error(std::string_view message) const {
  return position + ": " + key + ": " + std::string(message);
}

load_result load_string(std::string_view toml_text, std::string_view source_name) {
  return detail::loader(source_name).run(toml_text);
}

}  // namespace smtp_exporter::config
