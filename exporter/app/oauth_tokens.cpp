#include "exporter/app/oauth_tokens.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <set>

#include "common/text_escape.hpp"
#include "exporter/schedule/delivery_readback.hpp"
#include "probes/oauth/jwt.hpp"
#include "probes/smtp/credentials.hpp"
#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {

namespace oauth = probes::oauth;
using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

oauth::grant_kind grant_of(config::oauth2_flow flow) {
  switch (flow) {
    case config::oauth2_flow::client_credentials: return oauth::grant_kind::client_credentials;
    case config::oauth2_flow::service_account: return oauth::grant_kind::jwt_bearer;
    case config::oauth2_flow::refresh_token: break;
  }
  return oauth::grant_kind::refresh_token;
}

std::string at_key(const config::key_source& source, const std::string& fallback_key,
                   const std::string& message) {
  if (!source.position.empty()) return source.error(message);
  return fallback_key + ": " + message;
}

// One secret from a file or an environment variable (config allows at most one); "" on success.
// An empty pair leaves `out` empty (a public client has no secret).
std::string read_secret(std::string_view file_key, const std::string& file,
                        const std::string& env, secret_string& out,
                        std::chrono::system_clock::time_point* changed = nullptr) {
  if (!file.empty()) {
    std::string error = probes::read_secret_file(file_key, file, out);
    struct stat st {};
    if (error.empty() && changed != nullptr && ::stat(file.c_str(), &st) == 0) {
      *changed = std::chrono::system_clock::time_point(
          std::chrono::seconds(st.st_mtim.tv_sec) +
          std::chrono::duration_cast<std::chrono::system_clock::duration>(
              std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    }
    return error;
  }
  if (!env.empty()) {
    // The environment's own copy cannot be wiped; only ours is.
    const char* value = std::getenv(env.c_str());
    if (value == nullptr || *value == '\0') {
      return "environment variable " + env + " is not set or empty";
    }
    out = secret_string(std::string_view(value));
  }
  return {};
}

}  // namespace

credential_outcome resolve_credential(const config::auth_settings& auth,
                                      const config::oauth2_file_sources& files,
                                      bool read_secrets) {
  credential_outcome out;
  const config::oauth2_settings& o = *auth.oauth2;
  oauth::credential c;
  c.flow = grant_of(o.flow);
  c.token_url = o.token_url;
  c.client_id = o.client_id;
  c.scope = o.scope;
  c.ca_file = o.ca_file;
  c.state_file = o.refresh_token_state_file;
  c.subject = o.subject.empty() ? auth.username : o.subject;

  if (!o.ca_file.empty()) {
    std::string error;
    if (!probes::make_client_context(probes::tls_context_options{o.ca_file, {}, {}}, error)) {
      out.config_error = at_key(files.ca_file, "auth.oauth2.ca_file", error);
      return out;
    }
  }
  if (o.flow == config::oauth2_flow::service_account) {
    std::string error;
    auto key = oauth::load_service_account_key(o.service_account_key_file, error);
    if (!key) {
      out.config_error = at_key(files.service_account_key_file,
                                "auth.oauth2.service_account_key_file", error);
      return out;
    }
    c.service_account = std::make_shared<const oauth::service_account_key>(std::move(*key));
  }
  if (!read_secrets) return out;

  out.secret_error = read_secret("client_secret_file", o.client_secret_file, o.client_secret_env,
                                 c.client_secret);
  if (out.secret_error.empty()) {
    out.secret_error = read_secret("refresh_token_file", o.refresh_token_file,
                                   o.refresh_token_env, c.refresh_token, &c.refresh_token_updated);
  }
  if (out.secret_error.empty()) out.credential = std::move(c);
  return out;
}

token_bindings make_token_bindings(const config::exporter_config& config,
                                   oauth::token_cache* cache, std::vector<std::string>& errors) {
  token_bindings out;
  // A file that fails is reported once, however many targets name it.
  std::set<std::string> reported;
  const auto bind = [&](const config::auth_settings& auth,
                        const config::oauth2_file_sources& files) -> std::optional<oauth_binding> {
    auto outcome = resolve_credential(auth, files, cache != nullptr);
    if (!outcome.config_error.empty()) {
      if (reported.insert(outcome.config_error).second) errors.push_back(outcome.config_error);
      return std::nullopt;
    }
    if (cache == nullptr) return std::nullopt;
    oauth_binding binding;
    if (outcome.credential) {
      binding.source = cache->source(std::move(*outcome.credential));
    } else {
      binding.setup_error = std::move(outcome.secret_error);
    }
    return binding;
  };
  for (std::size_t i = 0; i < config.targets.size(); ++i) {
    const auto& t = config.targets[i];
    if (!t.auth || !t.auth->oauth2) continue;
    const config::oauth2_file_sources none;
    const auto& files = i < config.oauth2_files.size() ? config.oauth2_files[i] : none;
    if (auto b = bind(*t.auth, files)) out.targets.emplace(t.name, std::move(*b));
  }
  // The delivery probe's IMAP login (issue 21), under its own key.
  for (const auto& t : config.targets) {
    if (!t.delivery || !t.delivery->imap.auth.oauth2) continue;
    if (auto b = bind(t.delivery->imap.auth, config::oauth2_file_sources{})) {
      out.targets.emplace(imap_resource_key(t.name), std::move(*b));
    }
  }
  for (const auto& m : config.modules) {
    if (!m.settings.auth || !m.settings.auth->oauth2) continue;
    if (auto b = bind(*m.settings.auth, m.oauth2_files)) out.modules.emplace(m.name, std::move(*b));
  }
  return out;
}

void token_registry::set(std::map<std::string, oauth_binding> targets) {
  std::lock_guard lock(mutex_);
  targets_ = std::move(targets);
}

namespace {

double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

ClientMetric sample(std::vector<ClientMetric::Label> labels, double value, bool counter) {
  ClientMetric m;
  m.label = std::move(labels);
  if (counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  return m;
}

}  // namespace

std::vector<MetricFamily> token_registry::families() const {
  std::lock_guard lock(mutex_);
  if (targets_.empty()) return {};
  MetricFamily expiry{"smtp_oauth2_token_expiry_timestamp_seconds",
                      "When the target's current OAuth 2.0 access token expires (Unix time); 0: "
                      "no token yet. Targets sharing a credential share the token.",
                      MetricType::Gauge, {}};
  MetricFamily requests{"smtp_oauth2_token_requests_total",
                        "Requests to the token endpoint for the target's credential, by result "
                        "(success, error). Targets sharing a credential share the counts.",
                        MetricType::Counter, {}};
  MetricFamily errors{"smtp_oauth2_token_errors_total",
                      "Failed token requests for the target's credential, by error class "
                      "(invalid_grant, invalid_client, …; docs/metrics.md).",
                      MetricType::Counter, {}};
  MetricFamily setup{"smtp_oauth2_token_source_ready",
                     "1 when the target's OAuth 2.0 credential was read at load; 0 when a secret "
                     "could not be read (the auth probe says which).",
                     MetricType::Gauge, {}};
  for (const auto& [name, binding] : targets_) {
    setup.metric.push_back(sample({{"target", name}}, binding.source ? 1 : 0, false));
    if (!binding.source) continue;
    const auto c = binding.source->counters();
    const double expiry_at =
        c.expiry.time_since_epoch().count() == 0 ? 0 : unix_seconds(c.expiry);
    expiry.metric.push_back(sample({{"target", name}}, expiry_at, false));
    const auto ok = c.requests[static_cast<std::size_t>(oauth::token_error::none)];
    requests.metric.push_back(
        sample({{"target", name}, {"result", "success"}}, static_cast<double>(ok), true));
    requests.metric.push_back(sample({{"target", name}, {"result", "error"}},
                                     static_cast<double>(c.total_requests() - ok), true));
    for (std::size_t e = 1; e < oauth::token_error_count; ++e) {
      if (c.requests[e] == 0) continue;  // a class's series appears with its first error
      errors.metric.push_back(
          sample({{"target", name},
                  {"error", std::string(oauth::token_error_name(static_cast<oauth::token_error>(e)))}},
                 static_cast<double>(c.requests[e]), true));
    }
  }
  std::vector<MetricFamily> out;
  for (auto* f : {&expiry, &requests, &errors, &setup}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

std::string token_registry::status_section() const {
  std::lock_guard lock(mutex_);
  if (targets_.empty()) return {};
  std::string out =
      "<h2 id=\"oauth2\">OAuth 2.0 tokens</h2>\n<table>\n<tr><th>target</th><th>token</th>"
      "<th>expires</th><th>requests</th><th>last error</th></tr>\n";
  const auto now = std::chrono::system_clock::now();
  for (const auto& [name, binding] : targets_) {
    out += "<tr><td>" + html_escape(name) + "</td>";
    if (!binding.source) {
      out += "<td><span class=\"reason\">credentials_unavailable</span></td><td></td><td></td>"
             "<td class=\"detail\">" + html_escape(binding.setup_error) + "</td></tr>\n";
      continue;
    }
    const auto c = binding.source->counters();
    const bool has_token = c.expiry.time_since_epoch().count() != 0;
    std::string expires;
    if (has_token) {
      const auto left = std::chrono::duration_cast<std::chrono::minutes>(c.expiry - now).count();
      expires = left >= 0 ? "in " + std::to_string(left) + " min" : "expired";
    }
    out += std::string("<td>") + (has_token ? "yes" : "not yet") + "</td><td>" + expires +
           "</td><td>" + std::to_string(c.total_requests()) + "</td><td class=\"detail\">" +
           html_escape(c.last_error_detail) + "</td></tr>\n";
  }
  out += "</table>\n";
  return out;
}

}  // namespace smtp_exporter::exporter
