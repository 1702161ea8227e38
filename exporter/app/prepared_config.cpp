#include "exporter/app/prepared_config.hpp"

#include "exporter/schedule/delivery_readback.hpp"

#include <algorithm>
#include <tuple>

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

namespace {

// The key that named the file that failed.
const config::key_source& failed_source(const config::tls_file_sources& files,
                                        const probes::tls_context_error& failure) {
  using file = probes::tls_context_error::file;
  return failure.failed == file::ca_file     ? files.ca_file
         : failure.failed == file::cert_file ? files.cert_file
                                             : files.key_file;
}

std::string module_tls_file_error(const config::probe_module& module,
                                  const probes::tls_context_error& failure) {
  const auto& source = failed_source(module.tls_files, failure);
  if (!source.position.empty()) return source.error(failure.message);
  return "module " + module.name + ": " + failure.message;
}

}  // namespace

// Parses the file and loads every TLS context it needs (CA bundles, client certificates): all the
// file I/O of a reload, so that it can run off the event loop.
prepared_config prepare_config(const std::string& path, probes::oauth::token_cache* tokens) {
  prepared_config out;
  auto loaded = config::load_file(path);
  if (!loaded.ok()) {
    out.errors = std::move(loaded.errors);
    return out;
  }
  // One context per distinct trust store and client certificate, loaded now rather than at probe
  // time, so a missing CA file is a reload error, not a failing probe. A file that fails is
  // reported once, at the key that names it, and the others are still checked.
  const auto& targets = loaded.config->targets;
  std::map<std::tuple<std::string, std::string, std::string>, std::shared_ptr<asio::ssl::context>>
      by_files;
  // One context per distinct set of files; `error_for` words a failure at the key that named it.
  auto context_for = [&](const config::tls_settings& tls,
                         const auto& error_for) -> std::shared_ptr<asio::ssl::context> {
    auto key = std::make_tuple(tls.ca_file, tls.cert_file, tls.key_file);
    auto it = by_files.find(key);
    if (it == by_files.end()) {
      probes::tls_context_error failure;
      auto ctx =
          probes::make_client_context({tls.ca_file, tls.cert_file, tls.key_file}, failure);
      if (!ctx) {
        auto error = error_for(failure);
        if (std::find(out.errors.begin(), out.errors.end(), error) == out.errors.end())
          out.errors.push_back(std::move(error));
      }
      it = by_files.emplace(key, std::move(ctx)).first;
    }
    return it->second;
  };
  for (std::size_t i = 0; i < targets.size(); ++i) {
    const auto& t = targets[i];
    if (t.tls == config::tls_mode::none) continue;
    auto ctx = context_for(*t.tls_config, [&](const probes::tls_context_error& failure) {
      return tls_file_error(*loaded.config, i, failure);
    });
    if (ctx) out.tls_contexts[t.name] = std::move(ctx);
  }
  // The delivery probe's IMAP server: its own trust store, loaded now like the SMTP side's.
  for (const auto& t : targets) {
    if (!t.delivery) continue;
    config::tls_settings imap_tls;
    imap_tls.ca_file = t.delivery->imap.ca_file;
    auto ctx = context_for(imap_tls, [&](const probes::tls_context_error& failure) {
      return "target " + t.name + ": delivery.imap.ca_file: " + failure.message;
    });
    if (ctx) out.tls_contexts[imap_resource_key(t.name)] = std::move(ctx);
  }
  // A module without an explicit tls mode may meet a TLS port, so it gets a context too.
  for (const auto& m : loaded.config->modules) {
    if (m.tls_explicit && m.settings.tls == config::tls_mode::none) continue;
    auto ctx = context_for(*m.settings.tls_config, [&](const probes::tls_context_error& failure) {
      return module_tls_file_error(m, failure);
    });
    if (ctx) out.module_tls_contexts[m.name] = std::move(ctx);
  }
  out.tokens = make_token_bindings(*loaded.config, tokens, out.errors);
  if (out.errors.empty()) out.config = std::move(loaded.config);
  return out;
}

std::string tls_file_error(const config::exporter_config& config, std::size_t target,
                           const probes::tls_context_error& failure) {
  if (target < config.tls_files.size()) {
    const auto& source = failed_source(config.tls_files[target], failure);
    if (!source.position.empty()) return source.error(failure.message);
  }
  // The system CA store, or a config not read from a file: no key to point at.
  return "target " + config.targets.at(target).name + ": " + failure.message;
}

}  // namespace smtp_exporter::exporter
