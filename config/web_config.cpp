#include "config/web_config.hpp"

#include <openssl/tls1.h>

#include <algorithm>
#include <array>
#include <string_view>
#include <type_traits>

#include <yaml-cpp/yaml.h>

#include "common/bounded_read.hpp"

namespace smtp_exporter::config {

namespace {

struct name_pair {
  std::string_view go;
  std::string_view openssl;
};

// Go's crypto/tls names (what the toolkit accepts) and OpenSSL's for the same suite.
constexpr std::array<name_pair, 14> tls12_suites{{
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
}};
constexpr std::array<std::string_view, 3> tls13_suites{
    "TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"};
constexpr std::array<name_pair, 4> curves{{
    {"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}}};
constexpr std::array<std::pair<std::string_view, int>, 4> versions{{
    {"TLS10", TLS1_VERSION}, {"TLS11", TLS1_1_VERSION}, {"TLS12", TLS1_2_VERSION},
    {"TLS13", TLS1_3_VERSION}}};
constexpr std::array<std::pair<std::string_view, client_auth>, 5> client_auth_types{{
    {"NoClientCert", client_auth::none},
    {"RequestClientCert", client_auth::request},
    {"RequireAnyClientCert", client_auth::require_any},
    {"VerifyClientCertIfGiven", client_auth::verify_if_given},
    {"RequireAndVerifyClientCert", client_auth::require_and_verify}}};
// The headers the toolkit lets a user set.
constexpr std::array<std::string_view, 5> header_names{
    "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "X-XSS-Protection",
    "Strict-Transport-Security"};

// The names a table accepts, for an error message: "a, b, c" (Go's names for name_pairs).
template <typename Table>
std::string one_of(const Table& table) {
  std::string out;
  for (const auto& entry : table) {
    if (!out.empty()) out += ", ";
    if constexpr (std::is_convertible_v<decltype(entry), std::string_view>) {
      out += entry;
    } else if constexpr (std::is_same_v<std::decay_t<decltype(entry)>, name_pair>) {
      out += entry.go;
    } else {
      out += entry.first;
    }
  }
  return out;
}

// Header names and the values the toolkit compares are ASCII, compared without regard to case.
bool iequals(std::string_view a, std::string_view b) {
  const auto lower = [](unsigned char c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                    [&](char x, char y) { return lower(x) == lower(y); });
}

class parser {
 public:
  explicit parser(std::string file) : file_(std::move(file)) {}

  web_config_result run(const std::string& text) {
    web_config_result out;
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      out.errors.push_back(file_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                           std::to_string(e.mark.column + 1) + ": " + e.msg);
      return out;
    }
    web_config config;
    if (root.IsNull()) {  // an empty file: plain HTTP, no auth, as with the toolkit
      out.config = std::move(config);
      return out;
    }
    if (!root.IsMap()) {
      error(root, "", "must be a mapping with tls_server_config, http_server_config, basic_auth_users");
    } else {
      check_keys(root, "", {"tls_server_config", "http_server_config", "basic_auth_users"});
      if (auto tls = root["tls_server_config"]; tls && !tls.IsNull()) parse_tls(tls, config);
      if (auto http = root["http_server_config"]; http && !http.IsNull()) parse_http(http, config);
      if (auto users = root["basic_auth_users"]; users && !users.IsNull()) parse_users(users, config);
    }
    if (errors_.empty()) {
      out.config = std::move(config);
    } else {
      out.errors = std::move(errors_);
    }
    return out;
  }

 private:
  std::string file_;
  std::vector<std::string> errors_;

  void error(const YAML::Node& node, std::string_view key, const std::string& message) {
    auto mark = node.Mark();
    std::string where = file_;
    if (!mark.is_null()) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
    errors_.push_back(where + ": " + (key.empty() ? std::string() : std::string(key) + ": ") +
                      message);
  }

  static std::string join(std::string_view base, std::string_view key) {
    return base.empty() ? std::string(key) : std::string(base) + "." + std::string(key);
  }

  // A key given twice in one mapping is an error, as in the toolkit (Go's YAML: "key already set
  // in map"), never "the first one wins": a password rotated by adding the user again, or a
  // client_auth_type tightened further down, must not leave the old value quietly in force.
  // `seen`: the mapping's keys so far, with the line each was set on.
  bool duplicate(const YAML::Node& key, const std::string& path, std::map<std::string, int>& seen) {
    if (!key.IsScalar()) return false;
    auto [it, inserted] = seen.emplace(key.Scalar(), key.Mark().line + 1);
    if (inserted) return false;
    error(key, path, "duplicate key (already set on line " + std::to_string(it->second) + ")");
    return true;
  }

  void check_keys(const YAML::Node& map, std::string_view base,
                  std::initializer_list<std::string_view> allowed) {
    std::map<std::string, int> seen;
    for (const auto& entry : map) {
      std::string key = entry.first.IsScalar() ? entry.first.Scalar() : std::string("?");
      if (duplicate(entry.first, join(base, key), seen)) continue;
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        error(entry.first, join(base, key), "unknown key (want one of " + one_of(allowed) + ")");
      }
    }
  }

  bool expect_map(const YAML::Node& node, std::string_view key) {
    if (node.IsMap()) return true;
    error(node, key, "must be a mapping");
    return false;
  }

  std::optional<std::string> string_at(const YAML::Node& map, std::string_view base,
                                       const char* key) {
    auto node = map[key];
    if (!node || node.IsNull()) return std::nullopt;
    if (!node.IsScalar()) {
      error(node, join(base, key), "must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  std::vector<std::pair<YAML::Node, std::string>> list_at(const YAML::Node& map,
                                                          std::string_view base, const char* key) {
    std::vector<std::pair<YAML::Node, std::string>> out;
    auto node = map[key];
    if (!node || node.IsNull()) return out;
    if (!node.IsSequence()) {
      error(node, join(base, key), "must be a list of strings");
      return out;
    }
    for (const auto& item : node) {
      if (!item.IsScalar()) {
        error(item, join(base, key), "must be a list of strings");
        continue;
      }
      out.emplace_back(item, item.Scalar());
    }
    return out;
  }

  std::optional<bool> bool_at(const YAML::Node& map, std::string_view base, const char* key) {
    auto node = map[key];
    if (!node || node.IsNull()) return std::nullopt;
    bool value = false;
    if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
      error(node, join(base, key), "must be true or false");
      return std::nullopt;
    }
    return value;
  }

  int version_at(const YAML::Node& map, std::string_view base, const char* key, int fallback) {
    auto text = string_at(map, base, key);
    if (!text) return fallback;
    for (const auto& [name, value] : versions) {
      if (*text == name) return value;
    }
    error(map[key], join(base, key),
          "unknown TLS version \"" + *text + "\" (want one of " + one_of(versions) + ")");
    return fallback;
  }

  void parse_tls(const YAML::Node& node, web_config& config) {
    const std::string base = "tls_server_config";
    if (!expect_map(node, base)) return;
    check_keys(node, base,
               {"cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
                "max_version", "cipher_suites", "curve_preferences", "prefer_server_cipher_suites"});
    web_tls_settings tls;
    tls.cert_file = string_at(node, base, "cert_file").value_or("");
    tls.key_file = string_at(node, base, "key_file").value_or("");
    tls.client_ca_file = string_at(node, base, "client_ca_file").value_or("");
    if (auto type = string_at(node, base, "client_auth_type")) {
      auto it = std::find_if(client_auth_types.begin(), client_auth_types.end(),
                             [&](const auto& e) { return e.first == *type; });
      if (it == client_auth_types.end()) {
        error(node["client_auth_type"], join(base, "client_auth_type"),
              "unknown value \"" + *type + "\" (want one of " + one_of(client_auth_types) + ")");
      } else {
        tls.client_auth_type = it->second;
      }
    }
    tls.min_version = version_at(node, base, "min_version", TLS1_2_VERSION);
    tls.max_version = version_at(node, base, "max_version", 0);
    if (tls.max_version != 0 && tls.max_version < tls.min_version) {
      error(node["max_version"], join(base, "max_version"), "is older than min_version");
    }
    for (const auto& entry : list_at(node, base, "cipher_suites")) {
      const YAML::Node& item = entry.first;
      const std::string& name = entry.second;  // a plain name: lambdas below capture it
      auto it = std::find_if(tls12_suites.begin(), tls12_suites.end(),
                             [&](const auto& e) { return e.go == name; });
      if (it != tls12_suites.end()) {
        tls.cipher_suites.emplace_back(it->openssl);
      } else if (std::find(tls13_suites.begin(), tls13_suites.end(), name) != tls13_suites.end()) {
        tls.tls13_cipher_suites.push_back(name);
      } else {
        error(item, join(base, "cipher_suites"),
              "unknown cipher suite \"" + name + "\" (Go's names, e.g. "
              "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
      }
    }
    for (const auto& entry : list_at(node, base, "curve_preferences")) {
      const YAML::Node& item = entry.first;
      const std::string& name = entry.second;
      auto it = std::find_if(curves.begin(), curves.end(), [&](const auto& e) { return e.go == name; });
      if (it == curves.end()) {
        error(item, join(base, "curve_preferences"),
              "unknown curve \"" + name + "\" (want one of " + one_of(curves) + ")");
      } else {
        tls.curve_preferences.emplace_back(it->openssl);
      }
    }
    if (auto prefer = bool_at(node, base, "prefer_server_cipher_suites")) {
      tls.prefer_server_cipher_suites = *prefer;
    }
    // As the toolkit: no certificate and no key means plain HTTP; one without the other is wrong.
    if (tls.cert_file.empty() && tls.key_file.empty()) {
      if (!tls.client_ca_file.empty() || tls.client_auth_type != client_auth::none) {
        error(node, base, "client certificates need TLS: set cert_file and key_file");
      }
      return;
    }
    if (tls.cert_file.empty()) error(node, join(base, "cert_file"), "missing (key_file is set)");
    if (tls.key_file.empty()) error(node, join(base, "key_file"), "missing (cert_file is set)");
    if (!tls.client_ca_file.empty() && tls.client_auth_type == client_auth::none) {
      error(node["client_ca_file"], join(base, "client_ca_file"),
            "set without a client_auth_type that asks for a client certificate");
    }
    if (tls.client_ca_file.empty() && (tls.client_auth_type == client_auth::verify_if_given ||
                                       tls.client_auth_type == client_auth::require_and_verify)) {
      error(node["client_auth_type"], join(base, "client_auth_type"),
            "verifies client certificates: client_ca_file is required");
    }
    config.tls = std::move(tls);
  }

  void parse_http(const YAML::Node& node, web_config& config) {
    const std::string base = "http_server_config";
    if (!expect_map(node, base)) return;
    check_keys(node, base, {"headers", "http2"});
    bool_at(node, base, "http2");  // accepted for compatibility; HTTP/1.1 is served either way
    auto headers = node["headers"];
    if (!headers || headers.IsNull()) return;
    const std::string headers_key = join(base, "headers");
    if (!expect_map(headers, headers_key)) return;
    std::map<std::string, int> seen;
    for (const auto& entry : headers) {
      const std::string name = entry.first.Scalar();
      const std::string key = join(headers_key, name);
      if (duplicate(entry.first, key, seen)) continue;
      auto known = std::find_if(header_names.begin(), header_names.end(),
                                [&](auto h) { return iequals(h, name); });
      if (known == header_names.end()) {
        error(entry.first, key, "this header cannot be set (want one of " + one_of(header_names) + ")");
        continue;
      }
      if (!entry.second.IsScalar()) {
        error(entry.second, key, "must be a string");
        continue;
      }
      const std::string value = entry.second.Scalar();
      if (value.empty()) continue;  // the toolkit: unset if blank
      if (value.find_first_of("\r\n") != std::string::npos) {
        error(entry.second, key, "must be one line");
        continue;
      }
      if (*known == "X-Content-Type-Options" && !iequals(value, "nosniff")) {
        error(entry.second, key, "must be nosniff");
        continue;
      }
      if (*known == "X-Frame-Options" && !iequals(value, "deny") && !iequals(value, "sameorigin")) {
        error(entry.second, key, "must be deny or sameorigin");
        continue;
      }
      config.headers.emplace_back(std::string(*known), value);
    }
  }

  void parse_users(const YAML::Node& node, web_config& config) {
    const std::string base = "basic_auth_users";
    if (!expect_map(node, base)) return;
    std::map<std::string, int> seen;
    for (const auto& entry : node) {
      const std::string user = entry.first.Scalar();
      const std::string key = join(base, user);
      if (duplicate(entry.first, key, seen)) continue;
      // Never quote the value: it is a hash, but still a secret's hash.
      if (!entry.second.IsScalar() || bcrypt_cost(entry.second.Scalar()) == 0) {
        error(entry.second, key,
              "must be a bcrypt hash ($2a$, $2b$ or $2y$, e.g. from htpasswd -nBC 10)");
        continue;
      }
      if (user.find(':') != std::string::npos) {
        error(entry.first, key, "a user name cannot contain ':' (basic auth splits on it)");
        continue;
      }
      config.users.emplace(user, entry.second.Scalar());
    }
  }
};

}  // namespace

int bcrypt_cost(std::string_view hash) {
  // "$2b$" + 2-digit cost + "$" + 53 characters of salt and hash.
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return 0;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return 0;
  if (hash[4] < '0' || hash[4] > '9' || hash[5] < '0' || hash[5] > '9') return 0;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return 0;
  for (char c : hash.substr(7)) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '/';
    if (!ok) return 0;
  }
  return cost;
}

web_config_result parse_web_config(const std::string& yaml_text, const std::string& file_name) {
  return parser(file_name).run(yaml_text);
}

web_config_result load_web_config(const std::string& path) {
  constexpr std::size_t max_bytes = 1024 * 1024;
  const bounded_read_result read = read_bounded_file(path, max_bytes);
  if (!read.ok()) {
    web_config_result out;
    out.errors.push_back(path + ": cannot read: " +
                         (read.failure == read_failure::too_large ? std::string("larger than 1 MiB")
                                                                  : read.why(max_bytes)));
    return out;
  }
  return parse_web_config(std::string(read.text.reveal()), path);
}

}  // namespace smtp_exporter::config
