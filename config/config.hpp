// The exporter's configuration: plain structs, parsed from TOML and validated once at load time.
// A probe never re-validates; everything here is already checked and resolved (presets applied,
// defaults filled in, per-probe intervals resolved).
//
// Thread-safety: the structs are values; load_* functions are reentrant.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/dnsbl.hpp"
#include "config/sender.hpp"
#include "config/allow_list.hpp"
#include "config/indirect.hpp"
#include "common/host_port.hpp"
#include "common/probe_list.hpp"
#include "common/secret.hpp"

namespace smtp_exporter::config {

enum class tls_mode : std::uint8_t { none, starttls, implicit };
std::string_view to_string(tls_mode mode);

// One address family of a target with ip_protocol = "both" (issue 24): such a target runs one
// session per family, each with its own results under the `ip_family` label. `none` for every
// other target (no label). Set by family_targets() (exporter/schedule/session_options.hpp), never
// by the loader.
enum class ip_family : std::uint8_t { none, ipv4, ipv6 };
std::string_view to_string(ip_family f);  // "", "ipv4", "ipv6"
// The inverse of to_string: "none", "starttls", "implicit"; nullopt on anything else.
std::optional<tls_mode> parse_tls_mode(std::string_view text);

// The probes a target can run, in session order: made from common/probe_list.hpp, as
// probes::probe_kind is, so the two are one list (config/ does not include probes/).
SMTP_EXPORTER_DEFINE_PROBE_LIST(probe, probe_names, probe_count);
std::string_view to_string(probe p);
// "banner", "tls", "auth", "envelope", "delivery"
std::optional<probe> parse_probe(std::string_view text);

using duration = std::chrono::milliseconds;

enum class auth_mechanism : std::uint8_t { automatic, plain, login, cram_md5, xoauth2, oauthbearer };
// "auto", "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER"
std::string_view to_string(auth_mechanism m);
std::optional<auth_mechanism> parse_auth_mechanism(std::string_view text);  // case-insensitive

// [target.auth.oauth2]: an OAuth 2.0 token source the exporter fetches and refreshes itself
// (issue 20). Resolved at load: token_url and scope filled from the provider preset (and
// `tenant`) when not written; exactly one source per secret is set.
enum class oauth2_flow : std::uint8_t { refresh_token, client_credentials, service_account };
std::string_view to_string(oauth2_flow f);  // "refresh_token", "client_credentials", "service_account"
std::optional<oauth2_flow> parse_oauth2_flow(std::string_view text);

struct oauth2_settings {
  oauth2_flow flow = oauth2_flow::refresh_token;
  std::string client_id;           // refresh_token, client_credentials
  std::string client_secret_file;  // read at load and reload, never at --config.check
  std::string client_secret_env;
  std::string refresh_token_file;  // refresh_token flow
  std::string refresh_token_env;
  std::string service_account_key_file;  // service_account flow; opened by --config.check
  std::string subject;    // service_account: the mailbox acted for (default: auth.username)
  std::string tenant;     // Microsoft: "common", "organizations", a tenant id or domain
  std::string token_url;  // resolved: written, or from the preset (with tenant); https:// only
  std::string scope;      // resolved: written, or from the preset and flow
  std::string ca_file;    // token endpoint's trust store; empty: the system store
  std::string refresh_token_state_file;  // rotated refresh tokens kept here (mode 0600)
  bool operator==(const oauth2_settings&) const = default;
};

// Where the auth probe's secret comes from. Exactly one source is set per target: a password
// source, token_file, or oauth2.
struct auth_settings {
  std::string username;
  std::string password_file;  // re-read at every probe
  std::string password_env;   // name of an environment variable
  shared_secret password;     // inline secret (wiped buffer); allowed, with a warning at load time
  std::string token_file;     // XOAUTH2 bearer token, re-read at every probe
  auth_mechanism mechanism = auth_mechanism::automatic;
  std::optional<oauth2_settings> oauth2;  // [target.auth.oauth2]
  bool operator==(const auth_settings&) const = default;
};

// The envelope probe's addresses: MAIL FROM:<mail_from>, RCPT TO:<rcpt_to>; never DATA.
struct envelope_settings {
  std::string mail_from;  // resolved: [target.envelope] mail_from, or the auth username
  std::string rcpt_to;
  bool operator==(const envelope_settings&) const = default;
};

// [target.delivery.imap]: where the delivery probe reads its message back (issue 21).
struct delivery_imap_settings {
  std::string host;
  std::uint16_t port = 993;
  tls_mode tls = tls_mode::implicit;  // implicit (993) or starttls (143); never none
  std::string ca_file;                // empty: the system store
  std::string server_name;            // certificate name; empty: host
  auth_settings auth;                 // [target.delivery.imap.auth]: a password source or oauth2
  // Mailboxes searched for Junk when none has the \Junk special-use attribute (RFC 6154).
  std::vector<std::string> junk_folders{"Junk", "Spam", "[Gmail]/Spam", "Junk E-mail"};
  bool operator==(const delivery_imap_settings&) const = default;
};

// [target.delivery]: the opt-in delivery probe (issue 21). Its interval is
// probe_interval[probe::delivery] (`interval` here or `delivery_interval`; default 1h, at least
// 10m: providers limit how much an account sends, and automated mail to oneself costs reputation).
struct delivery_settings {
  std::string to;    // a mailbox the operator owns
  std::string from;  // resolved: written, else [target.envelope] mail_from, else the auth username
  duration deadline{std::chrono::minutes(5)};  // how long the message may take to arrive
  bool delete_after = true;
  // The authserv-id whose Authentication-Results header is believed (RFC 8601); empty: the
  // domain of the IMAP host (headers added earlier on the path can be forged).
  std::string trusted_authserv_id;
  delivery_imap_settings imap;
  bool operator==(const delivery_settings&) const = default;
};

struct tls_settings {
  std::string server_name;  // SNI and host name check; empty: the target's host
  std::string ca_file;      // empty: the system CA store
  std::string cert_file;    // optional client certificate
  std::string key_file;
  std::string min_version = "TLS1.2";  // "TLS1.0" | "TLS1.1" | "TLS1.2" | "TLS1.3"
  bool insecure_skip_verify = false;
  bool operator==(const tls_settings&) const = default;
};

struct target {
  std::string name;      // unique; the `target` label
  std::string provider;  // preset name, or empty
  std::string host;
  std::uint16_t port = 0;
  tls_mode tls = tls_mode::starttls;
  std::array<bool, probe_count> probes{};  // indexed by probe
  duration interval{};                     // the target's base interval
  std::array<duration, probe_count> probe_interval{};  // resolved: override or `interval`
  duration timeout{};                      // hard deadline for one run (session)
  std::string ehlo_name;
  bool allow_plaintext = false;  // auth and envelope over an unencrypted connection
  // auth and envelope over TLS whose certificate was not verified (insecure_skip_verify)
  bool allow_unverified_credentials = false;
  ip_family family = ip_family::none;  // set on the per-family copies of a "both" target
  // Which resolved addresses to connect to: "any" (DNS order), "ip4" or "ip6" only, or "both":
  // one session per family, each reported under its `ip_family` label.
  std::string ip_protocol = "any";
  // Extra labels, sorted by name; names are valid Prometheus label names and do not collide
  // with the exporter's own labels.
  std::vector<std::pair<std::string, std::string>> labels;
  // By pointer (config/indirect.hpp): most targets have no auth or envelope table, and many share
  // their TLS settings.
  shared_value<tls_settings> tls_config;  // read with ->; change with edit()
  indirect_optional<auth_settings> auth;  // set iff [target.auth] is present
  indirect_optional<envelope_settings> envelope;  // set iff [target.envelope] is present
  indirect_optional<delivery_settings> delivery;  // set iff [target.delivery] is present

  bool has(probe p) const { return probes[static_cast<std::size_t>(p)]; }
  bool operator==(const target&) const = default;
};

// Where a key was written, for errors found after parsing, when the exporter opens the file the
// key names. Empty when the value is the built-in default.
struct key_source {
  std::string position;  // "FILE:LINE:COLUMN" of the value
  std::string key;       // "target[0].tls.ca_file", or "defaults.tls.ca_file" when inherited
  // "FILE:LINE:COLUMN: KEY: message", like every other config error.
  std::string error(std::string_view message) const;
};

// Where a target's TLS files were named.
struct tls_file_sources {
  key_source ca_file, cert_file, key_file;
};

// Where a target's [auth.oauth2] files were named (opened at load; the key file also by
// --config.check).
struct oauth2_file_sources {
  key_source service_account_key_file, ca_file;
};

// A [module.NAME] table: what GET /probe?module=NAME&target=HOST:PORT runs. A target template
// without host and port, plus the targets it may probe and a cap on concurrent /probe sessions.
struct probe_module {
  std::string name;
  // Validated like a target's keys; name, host and port are empty/zero, intervals unused.
  target settings;
  // tls was written in the module; otherwise the mode follows the requested port, as for a target
  // (tls_mode_for_port with the module's provider preset).
  bool tls_explicit = false;
  allow_list allowed;
  std::size_t max_concurrent = 0;
  // Credentialed modules ([module.NAME.auth]) by default: a /probe of the same HOST:PORT within
  // min_interval is answered from the last run, and at most max_sessions_per_minute sessions
  // start per minute (more: 429). 0 turns either off. Attack review, finding 2.
  std::chrono::milliseconds min_interval{0};
  std::size_t max_sessions_per_minute = 0;
  tls_file_sources tls_files;  // where the module's TLS files were named
  oauth2_file_sources oauth2_files;
};

// The target a /probe request runs: the module's settings with `host` and `port`, named
// "HOST:PORT" (config::host_port), no labels; without an explicit tls mode, the mode for that
// port (tls_mode_for_port with the module's preset).
target module_target(const probe_module& module, std::string_view host, std::uint16_t port);

struct exporter_config {
  std::vector<target> targets;  // in file order
  std::vector<tls_file_sources> tls_files;  // one per target, in the same order
  // Where each target's oauth2 service_account_key_file and ca_file were named (one per target,
  // in the same order; empty without an oauth2 block).
  std::vector<oauth2_file_sources> oauth2_files;
  dnsbl_settings dnsbl;                     // [dnsbl]; off unless enabled
  sender_settings sender;                   // [sender]; off unless enabled
  std::vector<probe_module> modules;  // sorted by name
  std::vector<std::string> warnings;  // e.g. inline passwords; never contains a secret
};

// Either a config or the list of errors, each "FILE:LINE:COLUMN: KEY: message".
struct load_result {
  std::optional<exporter_config> config;
  std::vector<std::string> errors;
  bool ok() const { return config.has_value(); }
};

inline constexpr std::size_t max_config_bytes = 64 * 1024 * 1024;
load_result load_file(const std::filesystem::path& path);
// `source_name` stands in for the file name in error messages.
load_result load_string(std::string_view toml_text, std::string_view source_name);

// "500ms", "10s", "1m", "1h", "1m30s". Returns nullopt on anything else (negative, empty, unit-less).
std::optional<duration> parse_duration(std::string_view text);
std::string format_duration(duration d);

// Why `address` cannot be a MAIL FROM/RCPT TO mailbox (local@domain, printable ASCII, no spaces or
// angle brackets, at most 254 characters); nullopt when it can.
std::optional<std::string> address_problem(std::string_view address);

// "host:port", with an IPv6 literal in brackets: "[::1]:25" (common/host_port.hpp).
using smtp_exporter::host_port;

// The machine's host name, used when no ehlo_name is configured.
std::string default_ehlo_name();

// Labels the exporter itself uses; a target's own labels may not take these names.
inline constexpr std::array<std::string_view, 21> reserved_label_names{
    "target", "probe", "phase",     "result",     "reason", "extension", "mechanism",
    "version", "cipher", "depth",   "subject_cn", "issuer_cn", "status", "host",
    "port",   "tls",    "provider", "code",       "folder", "method", "ip_family"};

}  // namespace smtp_exporter::config
