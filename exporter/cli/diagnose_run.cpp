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
#include "config/config.hpp"
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
  if (t.delivery) {
    const auto& imap = t.delivery->imap;
    if (imap.auth.oauth2) {
      auto outcome = resolve_credential(imap.auth, {}, true);
      if (!outcome.credential) {
        error = "[target.delivery.imap.auth.oauth2]: " + (!outcome.config_error.empty()
                                                               ? outcome.config_error
                                                               : outcome.secret_error);
        return false;
      }
      p.imap_oauth = std::make_shared<probes::oauth::credential>(std::move(*outcome.credential));
    } else {
      auto credentials = probes::load_credentials({imap.auth.username, imap.auth.password_file,
                                                   imap.auth.password_env, imap.auth.password,
                                                   imap.auth.token_file});
      if (!credentials.ok()) {
        error = "IMAP login: " + credentials.error;
        return false;
      }
    }
    std::string context_error;
    p.imap_tls = probes::make_client_context({imap.ca_file, {}, {}}, context_error);
    if (!p.imap_tls) {
      error = "IMAP trust store: " + context_error;
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

namespace {

// The read-back of the message `run`'s session sent; the delivery probe's verdict follows it.
void read_back(asio::io_context& io, plan& p, port_run& run, std::ostream* live) {
  const auto& d = *p.target.delivery;
  auto& step = run.delivery;
  step.ran = true;
  step.sent = *run.result.delivery;
  if (p.imap_oauth) {
    p.imap_tokens = std::make_shared<probes::oauth::token_cache>(io.get_executor());
    p.imap_token = p.imap_tokens->source(std::move(*p.imap_oauth));
    p.imap_oauth.reset();
  }
  if (live) {
    *live << "  read-back: " << (d.imap.tls == config::tls_mode::starttls ? "imap+starttls "
                                                                          : "imaps ")
          << config::host_port(d.imap.host, d.imap.port) << " as " << d.imap.auth.username
          << ", searching INBOX and Junk for " << step.sent.probe_id << " (up to "
          << config::format_duration(d.deadline) << ")\n";
  }
  auto o = readback_options_for(d, p.imap_tls);
  oauth_binding token{p.imap_token, {}};
  auto refused = run_to_completion(io, attach_imap_secret(d, token, o));
  if (refused) {
    step.verdict = std::move(*refused);
  } else {
    step.report = run_to_completion(io, read_back_delivery(d, std::move(o), step.sent));
    step.verdict.reason = step.report.outcome.reason;
    step.verdict.detail = step.report.outcome.detail;
  }
  auto& outcome = run.result.outcome(probes::probe_kind::delivery);
  outcome.reason = step.verdict.reason;
  if (!step.verdict.ok()) {
    outcome.reply_code = 0;
    outcome.enhanced_code.clear();
    outcome.policy_rejected = false;
  }
  if (live) {
    const auto& r = step.report;
    if (r.stale_removed > 0) {
      *live << "    removed " << r.stale_removed << " stale probe message(s) first\n";
    }
    if (!r.outcome.folder.empty()) {
      *live << "    found in " << r.result.mailbox << " (" << r.outcome.folder << ") after "
            << static_cast<long>(r.outcome.latency_seconds * 1000) << " ms (an upper bound: "
            << r.result.polls << (r.result.polls == 1 ? " search" : " searches") << ")"
            << (r.result.deleted ? "; deleted" : "") << "\n";
      if (r.result.verdict) {
        *live << "    Authentication-Results (" << r.result.verdict->authserv_id << "):";
        for (const auto& [method, result] : r.outcome.auth_results) {
          *live << " " << method << "=" << result;
        }
        *live << "\n";
      } else {
        *live << "    no trusted Authentication-Results header"
              << (r.result.untrusted_headers > 0
                      ? " (" + std::to_string(r.result.untrusted_headers) + " untrusted ignored)"
                      : std::string())
              << "\n";
      }
    }
    *live << "    -> " << (step.verdict.ok() ? std::string("delivered to the Inbox")
                                             : std::string(probes::to_string(step.verdict.reason)) +
                                                   ": " + step.verdict.detail)
          << "\n";
  }
}

}  // namespace

port_run run_port(asio::io_context& io, probes::dns_resolver& resolver, plan& p,
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
  if (run.result.delivery && p.target.delivery &&
      run.result.outcome(probes::probe_kind::delivery).success()) {
    read_back(io, p, run, live);
  }
  if (auto failed = display::first_failure(run.result)) {
    run.failure = *failed;
    run.cls = class_of(failed->reason, failed->probe);
  }
  return run;
}

}  // namespace smtp_exporter::exporter
