// The auth stage: AUTH as the sending application would, never sending mail.
#include "probes/oauth/token_cache.hpp"
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
    failure_reason::auth_web_login_required, failure_reason::auth_token_rejected,
    failure_reason::oauth2_token_unavailable, failure_reason::credentials_unavailable};

std::chrono::milliseconds since_ms(clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start);
}

// "59 min", "42 s": how long a token has left, as a person reads it.
std::string say_lifetime(std::chrono::system_clock::duration left) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(left).count();
  if (seconds >= 120) return std::to_string(seconds / 60) + " min";
  return std::to_string(seconds) + " s";
}

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
  if (!auth.token_setup_error.empty()) {
    co_return refuse(refusal::credentials_unreadable, auth.token_setup_error);
  }
  std::optional<sasl_mechanism> mechanism = auth.mechanism;
  // The configured mechanism if the server offers it, else the strongest usable one; a refusal
  // (recorded) when neither.
  const auto pick_mechanism = [&](bool have_token) {
    if (mechanism) {
      if (offered(run.result.ehlo, *mechanism)) return true;
      return refuse(refusal::mechanism_not_offered, to_string(*mechanism));
    }
    mechanism = choose_mechanism(run.result.ehlo, have_token);
    return mechanism ? true : refuse(refusal::no_usable_mechanism);
  };
  loaded_credentials credentials;
  if (auth.token) {
    // Before the token: a server that offers nothing a token can use costs no token request.
    if (!pick_mechanism(true)) co_return false;
    // The shared source answers from its cache; it asks the endpoint only when no usable token is
    // left (one request per credential however many sessions wait), within this run's deadline.
    const auto asked = clock::now();
    const oauth::token_result token = co_await auth.token->get(run.deadline);
    if (!token.ok()) {
      run.note("* oauth2 token unavailable after " + say_duration(since_ms(asked)));
      run.fail(probe_kind::auth, on_token_unavailable(token.detail));
      co_return false;
    }
    run.note("* oauth2 token ready in " + say_duration(since_ms(asked)) + ", expires in " +
             say_lifetime(token.expires_at - std::chrono::system_clock::now()));
    credentials.username = auth.credentials.username;
    credentials.secret = secret_string(token.access_token->reveal());
    credentials.is_token = true;
  } else {
    // Off the loop: a hung secret mount must not stall every probe and the web server.
    credentials = co_await load_credentials_async(auth.credentials, run.deadline);
    if (!credentials.ok()) co_return refuse(refusal::credentials_unreadable, credentials.error);
    if (!pick_mechanism(credentials.is_token)) co_return false;
  }
  const auth_secret sent = auth.token ? auth_secret::issued_token : auth_secret::password;

  auto t = clock::now();
  sasl_client client(*mechanism, std::move(credentials.username), std::move(credentials.secret),
                     sasl_peer{run.options.server_name.empty() ? run.options.host
                                                               : run.options.server_name,
                               run.options.port});
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
  verdict v = on_auth_reply(reply.code, reply.enhanced_code, reply.text(), sent,
                            describe(client.error_challenge()));
  run.phase_done(phase::auth, t, v.ok(), run.reply_summary(reply) + summary_suffix);
  if (v.ok()) {
    run.succeed(probe_kind::auth, v);
    co_return true;
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
