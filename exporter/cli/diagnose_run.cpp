#include "exporter/cli/diagnose_run.hpp"

#include <algorithm>
#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ssl/context.hpp>

#include "exporter/cli/diagnose_report.hpp"
#include "exporter/runtime/run_to_completion.hpp"
#include "exporter/app/oauth_tokens.hpp"
#include "exporter/schedule/session_options.hpp"
#include "probes/smtp/credentials.hpp"
#include "probes/smtp/stages.hpp"
#include "probes/tls/context.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;

bool prepare_plan(plan& p, std::string& error) {
  const config::target& t = p.target;
  if (t.auth && t.auth->oauth2) {
    auto outcome = resolve_credential(*t.auth, {}, true);
    if (!outcome.credential) {
      error = !outcome.config_error.empty() ? outcome.config_error : outcome.secret_error;
      return false;
    }
    p.oauth = std::make_shared<probes::oauth::credential>(std::move(*outcome.credential));
  } else if (t.auth) {
    auto credentials = probes::load_credentials({t.auth->username, t.auth->password_file,
                                                 t.auth->password_env, t.auth->password,
                                                 t.auth->token_file});
    if (!credentials.ok()) {
      error = credentials.error;
      return false;
    }
  }
  if (std::any_of(p.ports.begin(), p.ports.end(),
                  [](const port_plan& x) { return x.mode != config::tls_mode::none; })) {
    std::string context_error;
    p.tls_context = probes::make_client_context(
        {t.tls_config->ca_file, t.tls_config->cert_file, t.tls_config->key_file}, context_error);
    if (!p.tls_context) {
      error = context_error;
      return false;
    }
  }
  return true;
}

token_step fetch_token(asio::io_context& io, plan& p, std::ostream* live) {
  token_step step;
  if (!p.oauth) return step;  // no oauth2 block, or the step already ran
  namespace oauth = probes::oauth;
  // diagnose's own cache: one request, no retry (a failure is shown, not hidden by a backoff).
  oauth::token_cache cache(io.get_executor());
  step.ran = true;
  step.flow = oauth::grant_kind_name(p.oauth->flow);
  std::string url = p.oauth->token_url;
  if (url.empty() && p.oauth->service_account) url = p.oauth->service_account->token_uri;
  p.token = cache.source(std::move(*p.oauth));
  p.oauth.reset();
  oauth::token_error url_error{};
  if (auto parts = oauth::parse_token_url(url, url_error)) step.endpoint = parts->host;
  const auto started = std::chrono::steady_clock::now();
  const auto result = run_to_completion(
      io, p.token->get(started + std::max<std::chrono::milliseconds>(p.target.timeout,
                                                                     std::chrono::seconds(1))));
  step.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  step.ok = result.ok();
  if (step.ok) {
    step.expires_in_seconds = std::chrono::duration_cast<std::chrono::seconds>(
                                  result.expires_at - std::chrono::system_clock::now())
                                  .count();
  } else {
    step.error = oauth::token_error_name(result.error);
    step.detail = result.detail;
  }
  if (live) {
    *live << "  token: " << step.flow << " grant at "
          << (step.endpoint.empty() ? std::string("?") : step.endpoint) << " -> ";
    if (step.ok) {
      *live << "ok in " << static_cast<long>(step.seconds * 1000) << " ms, expires in "
            << step.expires_in_seconds / 60 << " min\n";
    } else {
      *live << "failed in " << static_cast<long>(step.seconds * 1000) << " ms: " << step.detail
            << "\n";
    }
  }
  return step;
}

port_run run_port(asio::io_context& io, probes::dns_resolver& resolver, const plan& p,
                  const port_plan& port, std::ostream* live) {
  port_run run;
  run.port = port;
  auto options = session_options_for(port_target(p, port));
  const bool tls = port.mode != config::tls_mode::none;
  if (tls) options.tls_context = p.tls_context;
  if (p.token) bind_token(options, oauth_binding{p.token, {}});
  options.due = probes::applicable_probes(options);
  options.on_event = [&run, live](const probes::session_event& e) {
    run.events.push_back(e);
    if (live) print_step(*live, e);
  };

  run.result = run_to_completion(io, probes::run_session(options, resolver));
  if (auto failed = display::first_failure(run.result)) {
    run.failure = *failed;
    run.cls = class_of(failed->reason, failed->probe);
  }
  return run;
}

}  // namespace smtp_exporter::exporter
