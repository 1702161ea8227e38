// [defaults] and [[target]]: where a target is, how it is probed, and its auth, envelope, TLS
// settings and labels. A [module.NAME] table is read by the same parse_target (modules.cpp).
#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/detail/loader.hpp"
#include "config/presets.hpp"

namespace smtp_exporter::config {

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

namespace detail {
namespace {

using namespace std::chrono_literals;
using toml::node_type;

// Providers count envelope attempts against rate limits: the envelope probe runs rarely unless
// envelope_interval says otherwise.
constexpr duration builtin_envelope_interval = 15min;
// The delivery probe sends a real message: hourly unless said otherwise (issue 21).
constexpr duration builtin_delivery_interval = 1h;
constexpr std::size_t max_name_length = 128;

constexpr std::string_view ip_protocols[] = {"any", "ip4", "ip6", "both"};
constexpr std::string_view tls_versions[] = {"TLS1.0", "TLS1.1", "TLS1.2", "TLS1.3"};
constexpr std::string_view envelope_keys[] = {"mail_from", "rcpt_to"};
// `mode` last: only a target's [tls] table may carry it, [defaults.tls] takes the rest.
constexpr std::string_view tls_keys[] = {"server_name", "ca_file", "cert_file", "key_file",
                                         "min_tls_version", "insecure_skip_verify", "mode"};
// [target.auth]: the user, the mechanism, and exactly one credential source: a secret (string
// keys) or the [target.auth.oauth2] table, a token source of its own.
constexpr std::string_view secret_keys[] = {"password_file", "password_env", "password",
                                            "token_file"};
constexpr std::string_view source_keys[] = {secret_keys[0], secret_keys[1], secret_keys[2],
                                            secret_keys[3], "oauth2"};
constexpr std::string_view password_keys[] = {secret_keys[0], secret_keys[1], secret_keys[2]};
constexpr std::string_view auth_keys[] = {"username",     "mechanism",    source_keys[0],
                                          source_keys[1], source_keys[2], source_keys[3],
                                          source_keys[4]};

// A probe's interval when it has no <name>_interval: the target's, but never below 15m for the
// envelope probe nor 1h for the delivery probe.
duration default_probe_interval(std::size_t p, duration interval) {
  if (p == static_cast<std::size_t>(probe::envelope))
    return std::max(interval, builtin_envelope_interval);
  if (p == static_cast<std::size_t>(probe::delivery))
    return std::max(interval, builtin_delivery_interval);
  return interval;
}

}  // namespace

void loader::read_defaults(const toml::node& node, exporter_config&) {
  if (expect(node, node_type::table, "defaults")) parse_defaults(*node.as_table(), defaults_);
}

void loader::read_targets(const toml::node& node, exporter_config& config) {
  if (const toml::array* targets = node.as_array()) {
    config.targets.reserve(targets->size());
    for (std::size_t i = 0; i < targets->size(); ++i) {
      const std::string base = "target[" + std::to_string(i) + "]";
      if (expect((*targets)[i], node_type::table, base))
        parse_target(*(*targets)[i].as_table(), base, config);
    }
  } else {
    error(node, "target", "expected array of tables, got " + std::string(type_name(node.type())));
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
  check_keys(table, in_defaults, base);
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
                                                const std::string& target_name,
                                                const provider_preset* preset,
                                                oauth2_file_sources& oauth2_files) {
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
                " (expected auto, PLAIN, LOGIN, CRAM-MD5, XOAUTH2 or OAUTHBEARER)");
    }
  }

  // In file order, so a conflict is reported on the source written second.
  std::vector<std::pair<const toml::node*, std::string_view>> sources;
  for (const std::string_view key : source_keys) {
    if (const toml::node* node = table.get(key)) sources.emplace_back(node, key);
  }
  std::sort(sources.begin(), sources.end(), [](const auto& a, const auto& b) {
    return before(a.first->source().begin, b.first->source().begin);
  });
  for (std::size_t i = 1; i < sources.size(); ++i) {
    error(*sources[i].first, join(base, sources[i].second),
          "conflicts with " + std::string(sources[0].second) + "; set exactly one of " +
              one_of(source_keys));
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
      warning(node->source().begin, path,
              "inline password for target " + quote_value(target_name) +
                  "; prefer password_file or password_env to keep the secret out of the config");
    }
  }

  if (const toml::node* node = find(table, "oauth2", node_type::table, base))
    auth.oauth2 = parse_oauth2(*node->as_table(), join(base, "oauth2"), preset, auth.username,
                               oauth2_files);

  // XOAUTH2 and OAUTHBEARER carry a bearer token; a token source works with nothing else.
  const bool wants_token = auth.mechanism == auth_mechanism::xoauth2 ||
                           auth.mechanism == auth_mechanism::oauthbearer;
  const std::string mechanism_name(to_string(auth.mechanism));
  if (sources.empty()) {
    error(table.source().begin, base,
          wants_token ? "token_file or oauth2 is required for mechanism " + mechanism_name
                      : "one of " + one_of(source_keys) + " is required");
  } else if (sources.size() == 1 && mechanism_valid) {
    const std::string_view source = sources[0].second;
    const bool has_token = source == "token_file" || source == "oauth2";
    if (wants_token && !has_token) {
      error(*mechanism, join(base, "mechanism"),
            mechanism_name + " takes token_file or oauth2, not a password");
    } else if (has_token && !wants_token && auth.mechanism != auth_mechanism::automatic) {
      error(*mechanism, join(base, "mechanism"),
            std::string(source) + " works only with mechanism XOAUTH2, OAUTHBEARER or auto");
    }
  }
  if (errors_.size() != errors_before) return std::nullopt;
  return auth;
}

void loader::warn_on_password(const toml::table& auth, std::string_view base,
                              const provider_preset* preset) {
  if (preset == nullptr || preset->credentials.password_warning.empty()) return;
  for (const std::string_view key : password_keys) {
    if (const toml::node* node = auth.get(key))
      return warning(node->source().begin, join(base, key), preset->credentials.password_warning);
  }
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
                          exporter_config& config, probe_module* module) {
  check_keys(table, module != nullptr ? in_module : in_target, base);
  const defaults_block& defaults = defaults_;
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
  const bool sets_timing =
      std::any_of(std::begin(target_keys), std::end(target_keys), [&](const target_key& key) {
        return (key.scopes & timing) != 0 && table.contains(key.name);
      });
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

  oauth2_file_sources oauth2_files;
  if (const toml::node* node = find(table, "auth", node_type::table, base)) {
    out.auth =
        parse_auth(*node->as_table(), join(base, "auth"), out.name, preset, oauth2_files);
    if (out.auth) warn_on_password(*node->as_table(), join(base, "auth"), preset);
    // SendGrid's SMTP user name is the literal "apikey", with an API key as the password; the
    // account's user name (what the provider sheet says) is refused.
    if (out.auth && preset != nullptr && preset->name == "sendgrid" &&
        out.auth->username != "apikey") {
      const toml::node* user = node->as_table()->get("username");
      warning(user != nullptr ? user->source().begin : node->source().begin,
              join(join(base, "auth"), "username"),
              "SendGrid's SMTP user name is \"apikey\" (with an API key as the password), not " +
                  quote_value(out.auth->username));
    }
  }
  if (probes_valid && out.has(probe::auth) && !table.contains("auth"))
    error(at, join(base, "auth"), "auth is required when probes include \"auth\"");
  if (const toml::node* node = find(table, "envelope", node_type::table, base))
    out.envelope = parse_envelope(*node->as_table(), join(base, "envelope"), out.auth);
  if (probes_valid && out.has(probe::envelope) && !table.contains("envelope"))
    error(at, join(base, "envelope"), "envelope is required when probes include \"envelope\"");
  if (const toml::node* node = find(table, "delivery", node_type::table, base)) {
    const bool interval_key =
        table.contains(probe_interval_keys[static_cast<std::size_t>(probe::delivery)]);
    out.delivery = parse_delivery(*node->as_table(), join(base, "delivery"), out, interval_key);
    if (probes_valid && !out.has(probe::delivery)) {
      warning(node->source().begin, join(base, "delivery"),
              "[delivery] is set but probes do not include \"delivery\": no message is sent");
    }
  }
  if (probes_valid && out.has(probe::delivery) && !table.contains("delivery"))
    error(at, join(base, "delivery"), "delivery is required when probes include \"delivery\"");
  if (out.tls_config->insecure_skip_verify && !out.allow_unverified_credentials &&
      (out.has(probe::auth) || out.has(probe::envelope) || out.has(probe::delivery))) {
    warning(at, join(base, "tls.insecure_skip_verify"),
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
    if (out.has(probe::delivery) && plaintext_valid && !out.allow_plaintext)
      error(*mode_node, mode_path,
            "\"none\" would send the message in clear text; set allow_plaintext = true to allow "
            "it");
  }

  if (module != nullptr) {
    module->tls_explicit = mode_node != nullptr;
    out.host.clear();
    out.port = 0;
    module->settings = std::move(out);
    module->tls_files = std::move(tls_files);
    module->oauth2_files = std::move(oauth2_files);
  } else if (errors_.size() == errors_before) {
    config.targets.push_back(std::move(out));
    config.tls_files.push_back(std::move(tls_files));
    config.oauth2_files.push_back(std::move(oauth2_files));
  }
}

}  // namespace detail
}  // namespace smtp_exporter::config
