// The auth stage: AUTH as the sending application would, never sending mail.
#include "probes/smtp/credentials.hpp"
#include "probes/smtp/sasl.hpp"
#include "probes/smtp/session_run.hpp"

namespace smtp_exporter::probes::detail {
namespace {

constexpr phase auth_phases[] = {phase::auth};

constexpr failure_reason auth_reasons[] = {
    failure_reason::auth_unsupported, failure_reason::auth_requires_tls,
    failure_reason::auth_rejected, failure_reason::auth_tempfail,
    failure_reason::auth_basic_disabled, failure_reason::auth_app_password_required,
    failure_reason::auth_web_login_required, failure_reason::credentials_unavailable};

bool applies(const session_options& o) { return o.auth.has_value(); }

// Runs for its own probe, and before the envelope when credentials are configured (a sending
// application authenticates before MAIL FROM).
bool wanted(const session_run& run) {
  return run.due(probe_kind::auth) ||
         (run.options.auth.has_value() && run.due_from(probe_kind::auth));
}

bool offered(const capabilities& ehlo, sasl_mechanism m) {
  switch (m) {
    case sasl_mechanism::plain: return ehlo.has(auth_mechanism::plain);
    case sasl_mechanism::login: return ehlo.has(auth_mechanism::login);
    case sasl_mechanism::cram_md5: return ehlo.has(auth_mechanism::cram_md5);
    case sasl_mechanism::xoauth2: return ehlo.has(auth_mechanism::xoauth2);
    case sasl_mechanism::oauthbearer: return ehlo.has(auth_mechanism::oauthbearer);
  }
  return false;
}

asio::awaitable<bool> run_auth(session_run& run) {
  const auto refuse = [&](refusal r, std::string_view context = {}) {
    run.fail(probe_kind::auth, on_refusal(r, context));
    return false;
  };
  if (!run.options.auth) co_return refuse(refusal::no_credentials_configured);
  const auto& auth = *run.options.auth;
  // The exporter's own refusals: credentials never cross an unencrypted connection, nor go to a
  // server whose certificate was not verified, unless the operator said so by name.
  if (run.withhold(probe_kind::auth, refusal::credentials_need_tls,
                   refusal::credentials_need_verified_tls)) {
    co_return false;
  }
  if (!run.result.ehlo.has(extension::auth)) co_return refuse(refusal::auth_not_advertised);
  // Off the loop: a hung secret mount must not stall every probe and the web server.
  auto credentials = co_await load_credentials_async(auth.credentials, run.deadline);
  if (!credentials.ok()) co_return refuse(refusal::credentials_unreadable, credentials.error);
  std::optional<sasl_mechanism> mechanism = auth.mechanism;
  if (mechanism) {
    if (!offered(run.result.ehlo, *mechanism)) {
      co_return refuse(refusal::mechanism_not_offered, to_string(*mechanism));
    }
  } else {
    mechanism = choose_mechanism(run.result.ehlo, credentials.is_token);
    if (!mechanism) co_return refuse(refusal::no_usable_mechanism);
  }

  auto t = clock::now();
  sasl_client client(*mechanism, std::move(credentials.username), std::move(credentials.secret));
  std::string line = client.initial_command();
  smtp_reply reply;
  bool ok = co_await run.command(phase::auth, probe_kind::auth, line, reply);
  cleanse(line);
  const std::string summary_suffix = " (" + std::string(to_string(*mechanism)) + ")";
  while (ok && reply.code == 334) {
    auto next = client.respond(reply.lines.empty() ? std::string_view{} : reply.lines.front());
    if (!next) {
      // The server spoke out of turn: that decides, before the cancel (RFC 4954 section 4) that
      // follows as a courtesy, so that a peer that then closes or answers garbage does not turn
      // the reason into connection_closed.
      run.phase_done(phase::auth, t, false, run.reply_summary(reply) + summary_suffix);
      run.fail(probe_kind::auth, on_refusal(refusal::unexpected_challenge));
      co_await run.command(phase::auth, probe_kind::auth, "*", reply);
      co_return false;
    }
    ok = co_await run.command(phase::auth, probe_kind::auth, *next, reply);
    cleanse(*next);
  }
  if (!ok) {
    run.phase_done(phase::auth, t, false, run.result.detail);
    co_return false;
  }
  verdict v = on_reply(smtp_step::auth, reply.code, reply.enhanced_code, reply.text());
  run.phase_done(phase::auth, t, v.ok(), run.reply_summary(reply) + summary_suffix);
  if (v.ok()) {
    run.succeed(probe_kind::auth, v);
    co_return true;
  }
  if (!client.xoauth2_error().empty()) {
    v.detail += " " + printable_excerpt(client.xoauth2_error(), 200);
  }
  run.fail(probe_kind::auth, std::move(v));
  co_return false;
}

}  // namespace

extern constinit const stage auth_stage{
    {probe_kind::auth, auth_phases, "AUTH with the configured credentials", auth_reasons,
     "the final AUTH reply", applies},
    wanted, run_auth};

}  // namespace smtp_exporter::probes::detail
