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
#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {

// A config file parsed and its TLS contexts loaded, ready to apply; or the errors.
struct prepared_config {
  std::optional<config::exporter_config> config;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> tls_contexts;
  std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> module_tls_contexts;
  std::vector<std::string> errors;
};

// Parses `path` and loads what start-up loads without the network: every target's TLS files. Each
// error is "FILE:LINE:COLUMN: KEY: message"; all of them, not just the first. Secrets
// (password_file, token_file, password_env) are read at every probe, not here.
prepared_config prepare_config(const std::string& path);

// The error for a TLS file that did not load, at the key that named it.
std::string tls_file_error(const config::exporter_config& config, std::size_t target,
                           const probes::tls_context_error& failure);

}  // namespace smtp_exporter::exporter
