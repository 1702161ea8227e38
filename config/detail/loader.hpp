// Internal to config/: what the parts of the TOML loader share. The loader is one class whose
// members are defined by job:
//   loader.cpp   diagnostics (FILE:LINE:COLUMN), the generic readers, the section table, run()
//   targets.cpp  [defaults], [[target]] with its auth, envelope, TLS and labels
//   modules.cpp  [module.NAME]
//   dnsbl.cpp    [dnsbl]
//   oauth2.cpp   [target.auth.oauth2] (and a module's)
// A new top-level section is a parse member here, its own file, and a row of `sections` in
// loader.cpp.
//
// Thread-safety: one loader per load; nothing here is shared between loads.
#pragma once

#include <toml++/toml.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"

namespace smtp_exporter::config {
struct provider_preset;
}

namespace smtp_exporter::config::detail {

using key_list = std::span<const std::string_view>;

// ---- The keys a target-like table may hold --------------------------------------------------
// [defaults], [[target]] and [module.NAME] take mostly the same keys: one table says which.

enum key_scope : std::uint8_t {
  in_defaults = 1,
  in_target = 2,
  in_module = 4,
  // Timing: a target that sets one of these is checked for timeout <= its shortest interval.
  timing = 8,
};

struct target_key {
  std::string_view name;
  std::uint8_t scopes;
};

// Indexed by probe: "<name>_interval".
inline constexpr std::string_view probe_interval_keys[] = {
    "banner_interval", "tls_interval", "auth_interval", "envelope_interval", "delivery_interval"};
static_assert(std::size(probe_interval_keys) == probe_count);

inline constexpr std::uint8_t everywhere = in_defaults | in_target | in_module;
inline constexpr target_key target_keys[] = {
    {"name", in_target},
    {"provider", in_target | in_module},
    {"host", in_target},
    {"port", in_target},
    {"tls", everywhere},
    {"probes", everywhere | timing},
    {"interval", in_defaults | in_target | timing},
    {probe_interval_keys[0], in_defaults | in_target | timing},
    {probe_interval_keys[1], in_defaults | in_target | timing},
    {probe_interval_keys[2], in_defaults | in_target | timing},
    {probe_interval_keys[3], in_defaults | in_target | timing},
    {probe_interval_keys[4], in_defaults | in_target | timing},
    {"timeout", everywhere | timing},
    {"ehlo_name", everywhere},
    {"allow_plaintext", everywhere},
    {"allow_unverified_credentials", everywhere},
    {"ip_protocol", everywhere},
    {"labels", in_target},
    {"auth", in_target | in_module},
    {"envelope", in_target | in_module},
    {"delivery", in_target},
    // Read by read_module_keys (modules.cpp).
    {"allowed_hosts", in_module},
    {"allowed_cidrs", in_module},
    {"allowed_ports", in_module},
    {"max_concurrent", in_module},
    {"min_interval", in_module},
    {"max_sessions_per_minute", in_module},
};

// ---- The keys of [target.auth.oauth2] (oauth2.cpp) ---------------------------------------
// Which flows take a key and which need it. A secret is one source written as a file or an
// environment variable: `other` names the key it pairs with, and the pair is required (on the
// _file row) or optional as one; writing both is an error.

enum flow_bit : std::uint8_t {
  for_refresh_token = 1 << static_cast<int>(oauth2_flow::refresh_token),
  for_client_credentials = 1 << static_cast<int>(oauth2_flow::client_credentials),
  for_service_account = 1 << static_cast<int>(oauth2_flow::service_account),
};
inline constexpr std::uint8_t every_flow =
    for_refresh_token | for_client_credentials | for_service_account;
inline constexpr std::uint8_t client_flows = for_refresh_token | for_client_credentials;

struct oauth2_key {
  std::string_view name;
  std::uint8_t taken_by;     // flows that accept the key; any other flow refuses it
  std::uint8_t required_by;  // flows that need it (for a pair: it or `other`)
  std::string_view other = {};  // the other half of a _file/_env pair
};

inline constexpr oauth2_key oauth2_keys[] = {
    {"flow", every_flow, every_flow},
    {"client_id", client_flows, client_flows},
    // Optional for refresh_token: a public client (a desktop app registration) has no secret.
    {"client_secret_file", client_flows, for_client_credentials, "client_secret_env"},
    {"client_secret_env", client_flows, 0, "client_secret_file"},
    {"refresh_token_file", for_refresh_token, for_refresh_token, "refresh_token_env"},
    {"refresh_token_env", for_refresh_token, 0, "refresh_token_file"},
    {"service_account_key_file", for_service_account, for_service_account},
    {"subject", for_service_account, 0},  // default: auth.username
    {"tenant", client_flows, 0},          // Microsoft presets only
    {"token_url", every_flow, 0},         // required when the preset has none for the flow
    {"scope", every_flow, 0},             // likewise
    {"ca_file", every_flow, 0},
    {"refresh_token_state_file", for_refresh_token, 0},
};

// ---- Text helpers shared by every part (loader.cpp) -----------------------------------------

std::string_view type_name(toml::node_type type);
bool is_word_char(char c);
bool is_control(char c);
// [a-zA-Z_][a-zA-Z0-9_]*: Prometheus label names and environment variable names alike.
bool is_identifier(std::string_view s);
bool contains(key_list keys, std::string_view key);
// A value echoed in a message, escaped so a stray control byte cannot forge a log line.
std::string quote_value(std::string_view s);
// Paths read like TOML dotted keys; an odd key is quoted so the path stays unambiguous.
std::string join(std::string_view base, std::string_view key);
// "a, b or c".
std::string one_of(key_list names);
// A host, EHLO or DNS name as written: not empty, no spaces or control characters, and not a
// number that a resolver reads as an IPv4 address in another form (common/numeric_host.hpp).
std::optional<std::string> hostname_problem(std::string_view s);
bool before(toml::source_position a, toml::source_position b);

// What [defaults] resolves to; every target starts from a copy.
struct defaults_block {
  duration interval = std::chrono::seconds(60);
  duration timeout = std::chrono::seconds(10);
  std::array<std::optional<duration>, probe_count> probe_interval{};
  std::array<bool, probe_count> probes{true, true, false};
  std::string ehlo_name;
  bool allow_plaintext = false;
  bool allow_unverified_credentials = false;
  std::string ip_protocol = "any";
  tls_settings tls;
  tls_file_sources tls_files;
};

class loader {
 public:
  explicit loader(std::string_view source_name) : source_(source_name) {}
  load_result run(std::string_view text);

  // A top-level section: its key and its reader, called when the key is present.
  struct section {
    std::string_view key;
    void (loader::*read)(const toml::node& node, exporter_config& config);
  };

 private:
  struct diagnostic {
    toml::source_position at;
    std::string text;
  };

  // ---- loader.cpp: diagnostics and generic readers ----
  std::string position(toml::source_position at) const;
  void report(std::vector<diagnostic>& to, toml::source_position at, std::string_view key,
              std::string_view message);
  void error(toml::source_position at, std::string_view key, std::string_view message) {
    report(errors_, at, key, message);
  }
  void error(const toml::node& at, std::string_view key, std::string_view message) {
    report(errors_, at.source().begin, key, message);
  }
  void warning(toml::source_position at, std::string_view key, std::string_view message) {
    report(warnings_, at, key, message);
  }
  static std::vector<std::string> in_file_order(std::vector<diagnostic>& found);

  bool expect(const toml::node& node, toml::node_type type, std::string_view key);
  const toml::node* find(const toml::table& table, std::string_view key, toml::node_type type,
                         std::string_view base);
  void check_keys(const toml::table& table, key_list allowed, std::string_view base);
  // Against target_keys: the keys with any of `scopes`.
  void check_keys(const toml::table& table, std::uint8_t scopes, std::string_view base);
  void read_string(const toml::table& table, std::string_view key, std::string_view base,
                   std::string& out);
  void read_bool(const toml::table& table, std::string_view key, std::string_view base, bool& out);
  bool read_duration(const toml::table& table, std::string_view key, std::string_view base,
                     duration& out);
  void read_choice(const toml::table& table, std::string_view key, std::string_view base,
                   key_list choices, std::string_view what, std::string& out);
  void read_count(const toml::table& table, std::string_view key, std::string_view base,
                  std::size_t low, std::size_t high, std::size_t& out);

  // ---- targets.cpp: [defaults] and [[target]] ----
  void read_defaults(const toml::node& node, exporter_config& config);
  void read_targets(const toml::node& node, exporter_config& config);
  void read_ip_protocol(const toml::table& table, std::string_view base, std::string& out);
  void read_ehlo_name(const toml::table& table, std::string_view base, std::string& out);
  void read_probes(const toml::table& table, std::string_view base,
                   std::array<bool, probe_count>& out);
  void parse_defaults(const toml::table& table, defaults_block& out);
  void parse_tls(const toml::table& table, std::string_view base, tls_settings& out,
                 tls_file_sources& files);
  std::optional<auth_settings> parse_auth(const toml::table& table, std::string_view base,
                                          const std::string& target_name,
                                          const provider_preset* preset,
                                          oauth2_file_sources& oauth2_files);
  // A password source on a preset whose provider refuses passwords (or soon will) is warned of.
  void warn_on_password(const toml::table& auth, std::string_view base,
                        const provider_preset* preset);
  std::optional<envelope_settings> parse_envelope(const toml::table& table, std::string_view base,
                                                  const indirect_optional<auth_settings>& auth);
  void parse_labels(const toml::table& table, std::string_view base, target& out);
  // ---- delivery.cpp: [target.delivery] and its [imap] ----
  // `out` is the target so far (its envelope, auth and delivery interval are read and set);
  // `interval_key_written`: the target wrote delivery_interval.
  std::optional<delivery_settings> parse_delivery(const toml::table& table, std::string_view base,
                                                  target& out, bool interval_key_written);
  // With `module`, reads a module's target template into module->settings instead.
  void parse_target(const toml::table& table, const std::string& base, exporter_config& config,
                    probe_module* module = nullptr);
  void check_timeout(const toml::table& table, std::string_view base,
                     const std::array<bool, probe_count>& probes,
                     const std::array<duration, probe_count>& intervals, duration timeout);

  // ---- oauth2.cpp: [target.auth.oauth2] ----
  // `username` is auth.username (the default subject); files' positions go to `files`.
  std::optional<oauth2_settings> parse_oauth2(const toml::table& table, std::string_view base,
                                              const provider_preset* preset,
                                              const std::string& username,
                                              oauth2_file_sources& files);
  void read_oauth2_endpoint(const toml::table& table, std::string_view base,
                            const provider_preset* preset, oauth2_settings& out);

  // ---- modules.cpp: [module.NAME] ----
  void read_modules(const toml::node& node, exporter_config& config);

  // ---- dnsbl.cpp: [dnsbl] (docs/configuration.md) ----
  void read_dnsbl(const toml::node& node, exporter_config& config);
  void parse_dnsbl(const toml::table& table, dnsbl_settings& out);
  void parse_dnsbl_zone(const toml::table& table, const std::string& base,
                        const dnsbl_settings& section, duration interval, duration timeout,
                        dnsbl_zone& out);
  void parse_discovery(const toml::table& table, egress_discovery& out);
  void read_egress_ips(const toml::table& table, std::string_view base,
                       std::vector<std::string>& out);
  void read_sender(const toml::node& node, exporter_config& config);
  void parse_sender(const toml::table& table, sender_settings& out);
  void read_servers(const toml::table& table, std::string_view base,
                    std::vector<std::string>& out);
  void check_dnsbl_timeout(const toml::table& table, std::string_view base, duration interval,
                           duration timeout);

  // The top-level sections in the order they are read (loader.cpp).
  static std::span<const section> sections();

  std::string source_;
  std::vector<diagnostic> errors_;
  std::vector<diagnostic> warnings_;
  defaults_block defaults_;                  // [defaults], resolved; read before any target
  shared_value<tls_settings> defaults_tls_;  // the last defaults' TLS settings, shared by targets
  std::unordered_map<std::string, std::uint32_t> first_line_of_name_;
  // refresh_token_state_file -> the credential that writes it and the key that named it first.
  struct state_file_owner {
    std::string credential;
    std::string key;
  };
  std::unordered_map<std::string, state_file_owner> state_file_owners_;
};

}  // namespace smtp_exporter::config::detail
