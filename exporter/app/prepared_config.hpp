// A config file made ready to apply: parsed, and every TLS context it needs loaded (CA bundles,
// client certificates), so that a missing CA file is a load or reload error, not a failing probe.
// All the file I/O of a reload is here, so that the app can run it off the event loop.
//
// Thread-safety: pure functions of the files they read; call from any thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>

#include "config/config.hpp"
#include "exporter/app/oauth_tokens.hpp"
#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {

// A config file parsed and its TLS contexts loaded, ready to apply; or the errors.
struct prepared_config {
  std::optional<config::exporter_config> config;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls_contexts;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> module_tls_contexts;
  token_bindings tokens;  // [auth.oauth2] sources by target and module (empty without a cache)
  std::vector<std::string> errors;
};

// Parses `path` and loads what start-up loads without the network: every target's TLS files and
// the [auth.oauth2] key files and CA files. Each error is "FILE:LINE:COLUMN: KEY: message"; all
// of them, not just the first. Secrets (password_file, token_file, password_env) are read at
// every probe, not here; OAuth secrets are read here when `tokens` is given (start and reload;
// never for --config.check), which then hands out the token sources (oauth_tokens.hpp).
prepared_config prepare_config(const std::string& path,
                               probes::oauth::token_cache* tokens = nullptr);

// The error for a TLS file that did not load, at the key that named it.
std::string tls_file_error(const config::exporter_config& config, std::size_t target,
                           const probes::tls_context_error& failure);

}  // namespace smtp_exporter::exporter
