// The envelope stage: MAIL FROM and RCPT TO, then RSET, as the sending application would start a
// message, and never further: no DATA, no BDAT, no mail is ever sent. It shows what the earlier
// stages cannot: a sender or recipient refused by policy (an unverified sender identity, an IP on a
// blocklist that the server checks only at RCPT).
#include "probes/smtp/session_run.hpp"

namespace smtp_exporter::probes::detail {
namespace {

constexpr phase envelope_phases[] = {phase::mail_from, phase::rcpt_to};

constexpr failure_reason envelope_reasons[] = {
    failure_reason::envelope_requires_tls, failure_reason::sender_rejected,
    failure_reason::sender_tempfail, failure_reason::recipient_rejected,
    failure_reason::recipient_tempfail};

bool applies(const session_options& o) { return o.envelope.has_value(); }

bool wanted(const session_run& run) {
  return run.due(probe_kind::envelope) && run.options.envelope.has_value();
}

// RSET after MAIL or RCPT, so the server holds no half-open transaction; its reply changes
// nothing (the reason is known), and a failure here only ends the session.
asio::awaitable<void> reset_transaction(session_run& run) {
  smtp_reply reply;
  if (!co_await run.courtesy("RSET", reply)) run.connection_usable = false;
}

// One envelope command; the verdict of its reply, or nullopt after an I/O failure.
asio::awaitable<std::optional<verdict>> step(session_run& run, phase p, smtp_step s,
                                            const std::string& line) {
  smtp_reply reply;
  auto t = clock::now();
  if (!co_await run.command(p, probe_kind::envelope, line, reply)) {
    run.phase_done(p, t, false, run.result.detail);
    co_return std::nullopt;
  }
  verdict v = on_reply(s, reply.code, reply.enhanced_code, reply.text());
  run.phase_done(p, t, v.ok(), run.reply_summary(reply));
  co_return v;
}

asio::awaitable<bool> run_envelope(session_run& run) {
  const auto& envelope = *run.options.envelope;
  // Sender and recipient addresses are the operator's to protect, as credentials are.
  if (run.withhold(probe_kind::envelope, refusal::envelope_needs_tls,
                   refusal::envelope_needs_verified_tls)) {
    co_return false;
  }
  // No SIZE= (or any other parameter): the probe declares no message, because it sends none.
  auto mail = co_await step(run, phase::mail_from, smtp_step::mail_from,
                            "MAIL FROM:<" + envelope.mail_from + ">");
  if (!mail) co_return false;
  if (!mail->ok()) {
    run.fail(probe_kind::envelope, std::move(*mail));
    co_await reset_transaction(run);
    co_return false;
  }
  auto rcpt = co_await step(run, phase::rcpt_to, smtp_step::rcpt_to,
                            "RCPT TO:<" + envelope.rcpt_to + ">");
  if (!rcpt) co_return false;
  if (rcpt->ok()) {
    run.succeed(probe_kind::envelope, *rcpt);
  } else {
    run.fail(probe_kind::envelope, std::move(*rcpt));
  }
  co_await reset_transaction(run);
  co_return rcpt->ok();
}

}  // namespace

extern constinit const stage envelope_stage{
    {probe_kind::envelope, envelope_phases,
     "MAIL FROM and RCPT TO accepted (then RSET; never DATA)", envelope_reasons,
     "RCPT TO (or a refused MAIL FROM)", applies},
    wanted, run_envelope};

}  // namespace smtp_exporter::probes::detail
