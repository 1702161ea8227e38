// The delivery stage (issue 21), opt-in: MAIL FROM, RCPT TO, DATA, one small tagged message and its
// final ".", as the sending application sends mail. It shows what the envelope probe cannot: a
// refusal at DATA or after the body (Gmail's 550 5.7.26 for an unauthenticated sender, 421 4.7.28
// for a rate; Outlook's 550 5.7.708), and the acceptance the read-back over IMAP starts from
// (session_result::delivery).
//
// This stage is the sending half only: the probe's outcome here is the server's answer at end of
// data; where the message lands (Inbox, Junk, nowhere) is decided by the read-back.
#include <chrono>

#include "probes/smtp/message.hpp"
#include "probes/smtp/session_run.hpp"

namespace smtp_exporter::probes::detail {
namespace {

// data in the session; the imap_* phases are timed by the read-back after it.
constexpr phase delivery_phases[] = {phase::data, phase::imap_login, phase::imap_search,
                                     phase::imap_fetch, phase::imap_delete};

// The last nine are decided by the read-back over IMAP, after the session (probes/imap/readback).
constexpr failure_reason delivery_reasons[] = {
    failure_reason::data_rejected,        failure_reason::data_tempfail,
    failure_reason::delivered_to_junk,    failure_reason::not_delivered,
    failure_reason::imap_connect_failed,  failure_reason::imap_connect_timeout,
    failure_reason::imap_tls_certificate, failure_reason::imap_tls_failed,
    failure_reason::imap_auth_rejected,   failure_reason::imap_protocol_error,
    failure_reason::imap_timeout};

bool applies(const session_options& o) { return o.delivery.has_value(); }

bool wanted(const session_run& run) {
  return run.due(probe_kind::delivery) && run.options.delivery.has_value();
}

asio::awaitable<void> reset_transaction(session_run& run) {
  smtp_reply reply;
  if (!co_await run.courtesy("RSET", reply)) run.connection_usable = false;
}

// One command of the transaction; the verdict of its reply, or nullopt after an I/O failure.
asio::awaitable<std::optional<verdict>> step(session_run& run, phase p, smtp_step s,
                                            const std::string& line, smtp_reply& reply) {
  auto t = clock::now();
  if (!co_await run.command(p, probe_kind::delivery, line, reply)) {
    run.phase_done(p, t, false, run.result.detail);
    co_return std::nullopt;
  }
  verdict v = on_reply(s, reply.code, reply.enhanced_code, reply.text());
  // DATA's 354 is not the end of the phase: the message and its "." follow.
  if (s != smtp_step::data || !v.ok()) run.phase_done(p, t, v.ok(), run.reply_summary(reply));
  co_return v;
}

asio::awaitable<bool> run_delivery(session_run& run) {
  const auto& delivery = *run.options.delivery;
  // The message and its addresses are the operator's, as the envelope's are.
  if (run.withhold(probe_kind::delivery, refusal::envelope_needs_tls,
                   refusal::envelope_needs_verified_tls)) {
    co_return false;
  }
  smtp_reply reply;
  auto mail = co_await step(run, phase::mail_from, smtp_step::mail_from,
                            "MAIL FROM:<" + delivery.mail_from + ">", reply);
  if (!mail) co_return false;
  if (!mail->ok()) {
    run.fail(probe_kind::delivery, std::move(*mail));
    co_await reset_transaction(run);
    co_return false;
  }
  auto rcpt = co_await step(run, phase::rcpt_to, smtp_step::rcpt_to,
                            "RCPT TO:<" + delivery.rcpt_to + ">", reply);
  if (!rcpt) co_return false;
  if (!rcpt->ok()) {
    run.fail(probe_kind::delivery, std::move(*rcpt));
    co_await reset_transaction(run);
    co_return false;
  }
  const auto started = clock::now();
  auto data = co_await step(run, phase::data, smtp_step::data, "DATA", reply);
  if (!data) co_return false;
  if (!data->ok()) {
    run.fail(probe_kind::delivery, std::move(*data));
    co_await reset_transaction(run);
    co_return false;
  }

  probe_message message;
  message.from = delivery.mail_from;
  message.to = delivery.rcpt_to;
  message.target = delivery.target;
  message.date = std::chrono::system_clock::now();
  message.probe_id = make_probe_id(delivery.target, message.date);
  message.message_id = make_message_id(message.probe_id, delivery.mail_from);
  // The body and the end-of-data line in one write: "." alone on its line ends the message.
  std::string text = compose_probe_message(message) + ".";
  run.note("C: <message, " + std::to_string(text.size()) + " bytes, " +
           std::string(probe_header_name) + ": " + message.probe_id + ">");
  auto ec = co_await run.connection->write_line(text);
  if (ec) {
    run.fail(probe_kind::delivery, run.io_failed(phase::data, ec));
    run.phase_done(phase::data, started, false, run.result.detail);
    co_return false;
  }
  if (!co_await run.read_reply_in(phase::data, probe_kind::delivery, reply)) {
    run.phase_done(phase::data, started, false, run.result.detail);
    co_return false;
  }
  verdict end = on_reply(smtp_step::data_end, reply.code, reply.enhanced_code, reply.text());
  run.phase_done(phase::data, started, end.ok(), run.reply_summary(reply));
  if (!end.ok()) {
    run.fail(probe_kind::delivery, std::move(end));
    co_return false;
  }
  delivery_sent sent;
  sent.probe_id = message.probe_id;
  sent.message_id = message.message_id;
  sent.accepted_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  sent.reply = run.reply_summary(reply);
  run.result.delivery = std::move(sent);
  run.succeed(probe_kind::delivery, end);
  co_return true;
}

}  // namespace

extern constinit const stage delivery_stage{
    {probe_kind::delivery, delivery_phases,
     "one tagged message sent with DATA and accepted at end of data", delivery_reasons,
     "the reply after the message (or a refused DATA, MAIL FROM or RCPT TO)", applies},
    wanted, run_delivery};

}  // namespace smtp_exporter::probes::detail
