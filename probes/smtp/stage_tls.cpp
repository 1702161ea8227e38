// The tls stage: STARTTLS (or implicit TLS, whose handshake the banner stage ran), the handshake,
// verification, EHLO again.
#include "probes/smtp/session_run.hpp"
#include "probes/tls/facts.hpp"

namespace smtp_exporter::probes::detail {
namespace {

constexpr phase tls_phases[] = {phase::starttls, phase::tls_handshake};

// unverified_tls_refused is recorded for auth and envelope, but what failed is the TLS.
constexpr failure_reason tls_reasons[] = {
    failure_reason::starttls_unsupported, failure_reason::starttls_rejected,
    failure_reason::tls_handshake_failed, failure_reason::tls_timeout,
    failure_reason::cert_expired,         failure_reason::cert_not_yet_valid,
    failure_reason::cert_untrusted,       failure_reason::cert_hostname_mismatch,
    failure_reason::unverified_tls_refused};

bool applies(const session_options& o) { return o.mode != transport::plain; }

// Runs for its own probe and for any later one (auth and envelope go over TLS), unless the
// target speaks plain text.
bool wanted(const session_run& run) {
  return run.options.mode != transport::plain && run.due_from(probe_kind::tls);
}

asio::awaitable<bool> starttls(session_run& run) {
  if (!run.result.ehlo.has(extension::starttls)) {
    run.fail(probe_kind::tls, on_refusal(refusal::starttls_not_advertised));
    co_return false;
  }
  smtp_reply reply;
  auto t = clock::now();
  bool ok = co_await run.command(phase::starttls, probe_kind::tls, "STARTTLS", reply);
  if (!ok) {
    run.phase_done(phase::starttls, t, false, run.result.detail);
    co_return false;
  }
  verdict v = on_reply(smtp_step::starttls, reply.code, reply.enhanced_code, reply.text());
  run.phase_done(phase::starttls, t, v.ok(), run.reply_summary(reply));
  run.tls_reply_code = reply.code;
  if (!v.ok()) {
    run.fail(probe_kind::tls, std::move(v));
    co_return false;
  }
  if (!co_await tls_handshake(run, probe_kind::tls)) co_return false;
  // RFC 3207: the client must forget what it knew and ask again; AUTH is often offered only now.
  co_return co_await run.ehlo(probe_kind::tls);
}

asio::awaitable<bool> run_tls(session_run& run) {
  if (run.options.mode == transport::starttls) {
    if (!co_await starttls(run)) co_return false;
  }
  verdict v = on_verification(run.result.tls, run.result.tls_seen);
  if (!v.ok() && !run.options.insecure_skip_verify) {
    v.reply_code = run.tls_reply_code;
    run.fail(probe_kind::tls, std::move(v));
    co_return false;
  }
  verdict passed;
  passed.reply_code = run.tls_reply_code;
  run.succeed(probe_kind::tls, passed);
  co_return true;
}

}  // namespace

asio::awaitable<bool> tls_handshake(session_run& run, probe_kind probe) {
  if (run.options.tls_context == nullptr) {
    run.fail(probe, on_refusal(refusal::no_tls_context));
    co_return false;
  }
  auto t = clock::now();
  const auto& o = run.options;
  const std::string& name = o.server_name.empty() ? o.host : o.server_name;
  auto ec = co_await run.connection->handshake(*o.tls_context, name, o.min_tls_version);
  if (ec) {
    verdict v = run.io_failed(phase::tls_handshake, ec);
    v.reply_code = run.tls_reply_code;
    run.phase_done(phase::tls_handshake, t, false, v.detail);
    run.fail(probe, std::move(v));
    co_return false;
  }
  run.result.tls_seen = true;
  run.result.tls = collect_tls_facts(run.connection->tls_handle(),
                                     run.connection->tls_verify_errors(), name);
  const auto& tls = run.result.tls;
  std::string summary = tls.version + " " + tls.cipher +
                        (tls.verified ? ", certificate verified"
                                      : ", certificate NOT verified: " + tls.verify_error);
  run.note("* TLS " + summary);
  run.phase_done(phase::tls_handshake, t, true, summary);
  co_return true;
}

extern constinit const stage tls_stage{
    {probe_kind::tls, tls_phases, "STARTTLS or implicit TLS, handshake, certificate verification",
     tls_reasons, "STARTTLS", applies},
    wanted, run_tls};

}  // namespace smtp_exporter::probes::detail
