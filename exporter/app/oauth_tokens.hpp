// The config's [auth.oauth2] blocks made into token sources (probes/oauth/token_cache.hpp), and
// what the exporter shows of them: the smtp_oauth2_token_* families and the status page's rows.
//
// At load and at each reload (off the event loop: everything here that reads a file blocks):
// - the service-account key file and the token endpoint's ca_file are opened; a file that does
//   not load is a config error at the key that named it (also under --config.check, which opens
//   the key file but never a secret);
// - the secrets (client secret, refresh token: file or environment) are read; one that cannot be
//   read is not a load error, as for password_file: the target's auth probe then fails with
//   credentials_unavailable and the file's words, until a reload finds it;
// - the app's one token_cache hands out the source of each credential set: targets and modules
//   naming the same credential share one source, and an unchanged credential keeps its token
//   across reloads.
//
// Thread-safety: resolve_credential() and make_token_bindings() are reentrant (the cache locks);
// token_registry may be read from any thread (its set() and readers lock).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "config/config.hpp"
#include "exporter/schedule/session_options.hpp"
#include "probes/oauth/token_cache.hpp"

namespace smtp_exporter::exporter {

struct credential_outcome {
  std::optional<probes::oauth::credential> credential;  // set when nothing below is set
  std::string config_error;  // "FILE:LINE:COL: KEY: message": the key file or ca_file did not load
  std::string secret_error;  // a secret could not be read: never a load error
};

// The credential set of `auth.oauth2` (which must be set). With `read_secrets` false
// (--config.check) only the key file and ca_file are opened.
credential_outcome resolve_credential(const config::auth_settings& auth,
                                      const config::oauth2_file_sources& files, bool read_secrets);

struct token_bindings {
  std::map<std::string, oauth_binding> targets;  // by target name
  std::map<std::string, oauth_binding> modules;  // by module name
};

// Every target's and module's binding; config errors appended to `errors`. `cache` null: only
// check the files (--config.check).
token_bindings make_token_bindings(const config::exporter_config& config,
                                   probes::oauth::token_cache* cache,
                                   std::vector<std::string>& errors);

// What /metrics and the status page read: the bindings of this replica's targets.
class token_registry {
 public:
  void set(std::map<std::string, oauth_binding> targets);
  // smtp_oauth2_token_expiry_timestamp_seconds, _requests_total, _errors_total (docs/metrics.md);
  // empty when no target uses [auth.oauth2].
  std::vector<prometheus::MetricFamily> families() const;
  // The status page's "OAuth 2.0 tokens" section (escaped HTML); empty without OAuth targets.
  std::string status_section() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, oauth_binding> targets_;
};

}  // namespace smtp_exporter::exporter
