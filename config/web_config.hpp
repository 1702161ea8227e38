// --web.config.file: the Prometheus exporter-toolkit web configuration (the YAML that
// node_exporter and blackbox_exporter read), with the same keys and meaning, so the files and
// Kubernetes Secrets users already have work here:
//
//   tls_server_config: cert_file, key_file, client_auth_type, client_ca_file, min_version,
//                      max_version, cipher_suites, curve_preferences, prefer_server_cipher_suites
//   http_server_config: headers (the toolkit's five), http2 (accepted; HTTP/1.1 is served)
//   basic_auth_users: user -> bcrypt hash
//
// Unknown keys and bad values are errors naming the file, line, column and key, all reported in
// one pass (like the TOML config). Parsing reads the YAML only; exporter/web/web_tls.hpp's
// make_web_tls_context loads the certificate files.
//
// Thread-safety: values and reentrant functions.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace smtp_exporter::config {

enum class client_auth : std::uint8_t {
  none,                 // NoClientCert
  request,              // RequestClientCert: asked for, not verified
  require_any,          // RequireAnyClientCert: required, not verified
  verify_if_given,      // VerifyClientCertIfGiven
  require_and_verify,   // RequireAndVerifyClientCert
};

struct web_tls_settings {
  std::string cert_file;
  std::string key_file;
  client_auth client_auth_type = client_auth::none;
  std::string client_ca_file;
  int min_version = 0;  // OpenSSL's TLS1_2_VERSION etc.; set by the parser (default TLS 1.2)
  int max_version = 0;  // 0: the newest OpenSSL has
  std::vector<std::string> cipher_suites;      // OpenSSL names, mapped from Go's
  std::vector<std::string> tls13_cipher_suites;
  std::vector<std::string> curve_preferences;  // OpenSSL group names
  bool prefer_server_cipher_suites = true;
};

struct web_config {
  std::optional<web_tls_settings> tls;  // nullopt: plain HTTP
  std::vector<std::pair<std::string, std::string>> headers;  // added to every response
  std::map<std::string, std::string, std::less<>> users;     // user -> bcrypt hash
  bool requires_auth() const { return !users.empty(); }
};

struct web_config_result {
  std::optional<web_config> config;
  std::vector<std::string> errors;  // "FILE:LINE:COL: key.path: message"
};

web_config_result parse_web_config(const std::string& yaml_text, const std::string& file_name);
// Reads `path` (a regular file of at most 1 MiB: a FIFO or a device is refused without blocking)
// and parses it.
web_config_result load_web_config(const std::string& path);

// The cost of a bcrypt hash ("$2y$10$..." -> 10); 0 when `hash` is not a bcrypt hash.
int bcrypt_cost(std::string_view hash);

}  // namespace smtp_exporter::config
