// The auth probe's stage: AUTH as the sending application would, never sending mail.
#include "probes/credentials.hpp"
#include "probes/sasl.hpp"
#include "probes/session_run.hpp"

namespace smtp_exporter::probes::detail {

asio::awaitable<bool> session_run::authenticate() {
  const auto fail_auth = [&](failure_reason reason, int code, std::string detail) {
    fail(probe_kind::auth, reason, code, "auth: " + std::move(detail));
  };
  if (!options_.auth) {
    fail_auth(failure_reason::auth_unsupported, 0, "no credentials configured");
    co_return false;
  }
  const auto& auth = *options_.auth;
  if (!connection_->tls_active() && !auth.allow_plaintext) {
    // The exporter's own refusal: credentials never cross an unencrypted connection.
    fail_auth(failure_reason::auth_requires_tls, 0,
              "refusing to send credentials without TLS (allow_plaintext is off)");
    co_await quit();
    co_return false;
  }
  if (!result_.ehlo.has(extension::auth)) {
    fail_auth(failure_reason::auth_unsupported, 0, "AUTH not advertised in EHLO");
    co_await quit();
    co_return false;
  }
  // Off the loop: a hung secret mount must not stall every probe and the web server.
  auto credentials = co_await load_credentials_async(auth.credentials, deadline_);
  if (!credentials.ok()) {
    // Our side's problem, not the server's; the text names the source, never the secret.
    fail_auth(failure_reason::credentials_unavailable, 0, credentials.error);
    co_await quit();
    co_return false;
  }
  std::optional<sasl_mechanism> mechanism = auth.mechanism;
  if (mechanism) {
    if (!offered(*mechanism)) {
      fail_auth(failure_reason::auth_unsupported, 0,
                std::string(to_string(*mechanism)) + " not offered by the server");
      co_await quit();
      co_return false;
    }
  } else {
    mechanism = choose_mechanism(result_.ehlo, credentials.is_token);
    if (!mechanism) {
      fail_auth(failure_reason::auth_unsupported, 0, "no usable AUTH mechanism offered");
      co_await quit();
      co_return false;
    }
  }

  auto t = clock::now();
  sasl_client client(*mechanism, std::move(credentials.username), std::move(credentials.secret));
  std::string line = client.initial_command();
  smtp_reply reply;
  bool ok = co_await command(phase::auth, probe_kind::auth, line, reply);
  cleanse(line);
  while (ok && reply.code == 334) {
    auto next = client.respond(reply.lines.empty() ? std::string_view{} : reply.lines.front());
    if (!next) {
      // Cancel the exchange (RFC 4954 section 4) and say the server spoke out of turn.
      co_await command(phase::auth, probe_kind::auth, "*", reply);
      fail_auth(failure_reason::protocol_error, 334, "unexpected 334 challenge");
      ok = false;
      break;
    }
    ok = co_await command(phase::auth, probe_kind::auth, *next, reply);
    cleanse(*next);
  }
  phase_done(phase::auth, t, ok && reply.code == 235,
             ok ? std::to_string(reply.code) + " " + printable_excerpt(reply.text(), 120) + " (" +
                      std::string(to_string(*mechanism)) + ")"
                : result_.detail);
  if (!ok) {
    co_await quit();
    co_return false;
  }
  if (reply.code == 235) {
    succeed(probe_kind::auth, reply.code);
    co_return true;
  }
  failure_reason reason = failure_reason::auth_rejected;
  if (reply.code == 530 || reply.code == 538) {
    reason = failure_reason::auth_requires_tls;
  } else if (reply.code == 504 || reply.code == 534) {
    reason = failure_reason::auth_unsupported;
  } else if (reply.code_class() == 4) {
    reason = failure_reason::auth_tempfail;
  } else if (reply.code_class() != 5) {
    reason = failure_reason::protocol_error;
  }
  std::string detail = std::to_string(reply.code) + " " + printable_excerpt(reply.text(), 120);
  if (!client.xoauth2_error().empty()) detail += " " + printable_excerpt(client.xoauth2_error(), 200);
  fail_auth(reason, reply.code, std::move(detail));
  co_await quit();
  co_return false;
}

bool session_run::offered(sasl_mechanism m) const {
  switch (m) {
    case sasl_mechanism::plain: return result_.ehlo.has(auth_mechanism::plain);
    case sasl_mechanism::login: return result_.ehlo.has(auth_mechanism::login);
    case sasl_mechanism::cram_md5: return result_.ehlo.has(auth_mechanism::cram_md5);
    case sasl_mechanism::xoauth2: return result_.ehlo.has(auth_mechanism::xoauth2);
  }
  return false;
}

}  // namespace smtp_exporter::probes::detail
