#include "probes/session.hpp"

#include <algorithm>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "probes/ehlo.hpp"
#include "probes/session_run.hpp"
#include "probes/tls_facts.hpp"

namespace smtp_exporter::probes {
namespace detail {

session_run::session_run(const session_options& options, dns_resolver& resolver)
    : options_(options), resolver_(resolver) {
  for (std::size_t i = 0; i < probe_kind_count; ++i) result_.probes[i].ran = options.due[i];
}

asio::awaitable<session_result> session_run::run() {
  start_ = clock::now();
  deadline_ = start_ + options_.timeout;
  co_await execute();
  if (connection_) connection_->close();
  // A due probe that no stage decided did not really run (e.g. tls on a plain-text target).
  for (std::size_t i = 0; i < probe_kind_count; ++i) {
    if (!decided_[i]) result_.probes[i] = probe_outcome{};
  }
  result_.total_seconds = seconds_since(start_);
  co_return std::move(result_);
}

bool session_run::needs_tls() const {
  return options_.mode != transport::plain && (due(probe_kind::tls) || due(probe_kind::auth));
}

void session_run::fail(probe_kind first, failure_reason reason, int reply_code, std::string detail) {
  for (auto i = static_cast<std::size_t>(first); i < probe_kind_count; ++i) {
    if (!result_.probes[i].ran || decided_[i]) continue;
    result_.probes[i].reason = reason;
    result_.probes[i].reply_code = reply_code;
    decided_[i] = true;
  }
  if (result_.detail.empty()) result_.detail = std::move(detail);
}

void session_run::succeed(probe_kind p, int reply_code) {
  auto i = static_cast<std::size_t>(p);
  if (!result_.probes[i].ran || decided_[i]) return;
  result_.probes[i].reply_code = reply_code;
  decided_[i] = true;
}

failure_reason session_run::io_failure(phase p, const error_code& ec) const {
  if (connection_->deadline_expired() || ec == asio::error::operation_aborted) {
    switch (p) {
      case phase::connect: return failure_reason::connect_timeout;
      case phase::banner: return failure_reason::banner_timeout;
      case phase::starttls:
      case phase::tls_handshake: return failure_reason::tls_timeout;
      default: return failure_reason::timeout;
    }
  }
  if (ec == smtp_connection::protocol_error) return failure_reason::protocol_error;
  if (p == phase::tls_handshake) {
    // An EOF or reset mid-handshake is the peer refusing TLS as much as an alert is.
    return failure_reason::tls_handshake_failed;
  }
  return failure_reason::connection_closed;
}

std::string session_run::io_detail(phase p, const error_code& ec) const {
  std::string d{to_string(p)};
  d += ": ";
  if (connection_->deadline_expired()) return d + "deadline exceeded";
  if (ec == smtp_connection::protocol_error) return d + connection_->parse_error();
  return d + ec.message();
}

void session_run::note(std::string line) {
  if (result_.transcript.size() >= max_transcript_lines) return;
  if (line.size() > max_transcript_line) line.resize(max_transcript_line);
  result_.transcript.push_back(std::move(line));
}

void session_run::phase_done(phase p, clock::time_point started, bool ok, std::string summary) {
  double seconds = seconds_since(started);
  result_.set_phase(p, seconds);
  if (options_.on_event) options_.on_event(session_event{p, ok, seconds, std::move(summary)});
}

void session_run::note_reply(const smtp_reply& reply) {
  for (std::size_t i = 0; i < reply.lines.size(); ++i) {
    note("S: " + std::to_string(reply.code) + (i + 1 < reply.lines.size() ? "-" : " ") +
         printable_excerpt(reply.lines[i], max_transcript_line));
  }
}

asio::awaitable<bool> session_run::read_reply_in(phase p, probe_kind probe, smtp_reply& reply) {
  auto ec = co_await connection_->read_reply(reply);
  if (ec) {
    fail(probe, io_failure(p, ec), 0, io_detail(p, ec));
    note("* " + io_detail(p, ec));
    co_return false;
  }
  note_reply(reply);
  co_return true;
}

asio::awaitable<bool> session_run::command(phase p, probe_kind probe, std::string_view line,
                              smtp_reply& reply) {
  // Anything sent during AUTH may carry the secret or its base64: only the redacted form is kept.
  note("C: " + (p == phase::auth ? sasl_client::redact(line) : std::string(line)));
  auto ec = co_await connection_->write_line(line);
  if (ec) {
    fail(probe, io_failure(p, ec), 0, io_detail(p, ec));
    note("* " + io_detail(p, ec));
    co_return false;
  }
  co_return co_await read_reply_in(p, probe, reply);
}

asio::awaitable<void> session_run::execute() {
  auto executor = co_await asio::this_coro::executor;

  // resolve
  auto t = clock::now();
  auto resolved = co_await resolver_.resolve(options_.host, options_.port, deadline_);
  if (!resolved.ok()) {
    std::string why = resolved.error.empty() ? std::string("no address") : resolved.error;
    note("* resolve " + options_.host + " failed: " + why);
    phase_done(phase::resolve, t, false, why);
    fail(probe_kind::banner, failure_reason::resolve_failed, 0, "resolve: " + why);
    co_return;
  }
  if (options_.ip_protocol != 0) {
    const bool want_v6 = options_.ip_protocol == 6;
    std::erase_if(resolved.endpoints, [&](const auto& e) { return e.address().is_v6() != want_v6; });
    if (resolved.endpoints.empty()) {
      std::string why = "no IPv" + std::to_string(options_.ip_protocol) + " address";
      note("* resolve " + options_.host + ": " + why);
      phase_done(phase::resolve, t, false, why);
      fail(probe_kind::banner, failure_reason::resolve_failed, 0, "resolve: " + why);
      co_return;
    }
  }
  if (options_.address_allowed) {
    std::erase_if(resolved.endpoints,
                  [&](const auto& e) { return !options_.address_allowed(e.address()); });
    if (resolved.endpoints.empty()) {
      const std::string why = "no address the allow-list permits";
      note("* resolve " + options_.host + ": " + why);
      phase_done(phase::resolve, t, false, why);
      fail(probe_kind::banner, failure_reason::resolve_failed, 0, "resolve: " + why);
      co_return;
    }
  }
  {
    std::string addresses;
    for (const auto& e : resolved.endpoints) {
      if (!addresses.empty()) addresses += ", ";
      addresses += e.address().to_string();
    }
    note("* resolved " + options_.host + " to " + addresses);
    phase_done(phase::resolve, t, true, addresses);
  }

  // connect
  connection_ = std::make_shared<smtp_connection>(executor);
  connection_->set_deadline(deadline_);
  t = clock::now();
  auto [connect_ec, endpoint] = co_await asio::async_connect(
      connection_->socket(), resolved.endpoints, asio::as_tuple(asio::use_awaitable));
  if (connect_ec) {
    std::string why = connection_->deadline_expired() ? "no answer before the deadline"
                                                      : connect_ec.message();
    note("* connect to port " + std::to_string(options_.port) + " failed: " + why);
    phase_done(phase::connect, t, false, why);
    failure_reason reason = failure_reason::connect_unreachable;
    if (connection_->deadline_expired()) {
      reason = failure_reason::connect_timeout;
    } else if (connect_ec == asio::error::connection_refused) {
      reason = failure_reason::connect_refused;
    } else if (connect_ec == asio::error::timed_out) {
      reason = failure_reason::connect_timeout;
    }
    fail(probe_kind::banner, reason, 0, "connect: " + connect_ec.message());
    co_return;
  }
  result_.peer_address = endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
  result_.ip_protocol = endpoint.address().is_v6() ? 6 : 4;
  note("* connected to " + result_.peer_address);
  phase_done(phase::connect, t, true, result_.peer_address);
  {
    error_code ignored;
    connection_->socket().set_option(asio::ip::tcp::no_delay(true), ignored);
  }

  // implicit TLS: the greeting comes inside TLS
  if (options_.mode == transport::implicit_tls) {
    if (!co_await tls_handshake(probe_kind::banner)) co_return;
  }

  // greeting
  smtp_reply reply;
  t = clock::now();
  bool got_greeting = co_await read_reply_in(phase::banner, probe_kind::banner, reply);
  if (!got_greeting) {
    phase_done(phase::banner, t, false, result_.detail);
    co_return;
  }
  if (!reply.lines.empty()) {
    result_.greeting = printable_excerpt(reply.lines.front(), max_greeting_chars);
  }
  phase_done(phase::banner, t, reply.code == 220,
             std::to_string(reply.code) + " " + result_.greeting);
  if (reply.code != 220) {
    failure_reason reason = reply.code_class() == 5   ? failure_reason::banner_rejected
                            : reply.code_class() == 4 ? failure_reason::banner_tempfail
                                                      : failure_reason::protocol_error;
    fail(probe_kind::banner, reason, reply.code,
         "greeting: " + std::to_string(reply.code) + " " + result_.greeting);
    // Tell the server goodbye, but the reason is known: do not wait out the timeout.
    co_await quit();
    co_return;
  }
  int greeting_code = reply.code;
  // With implicit TLS there is no STARTTLS reply: the greeting inside TLS decides the tls probe.
  if (options_.mode == transport::implicit_tls) tls_reply_code_ = greeting_code;

  // EHLO (HELO when EHLO is refused)
  if (!co_await ehlo(probe_kind::banner)) co_return;
  succeed(probe_kind::banner, greeting_code);

  if (needs_tls() && options_.mode == transport::starttls) {
    if (!co_await starttls()) co_return;
  }
  if (needs_tls()) {
    if (!check_verification()) {
      co_await quit();
      co_return;
    }
    succeed(probe_kind::tls, tls_reply_code_);
  }
  if (due(probe_kind::auth)) {
    if (!co_await authenticate()) co_return;
  }

  co_await quit();
}

asio::awaitable<bool> session_run::ehlo(probe_kind probe) {
  smtp_reply reply;
  auto t = clock::now();
  bool ok = co_await command(phase::ehlo, probe, "EHLO " + options_.ehlo_name, reply);
  if (ok && reply.code_class() == 5) {
    // RFC 5321 4.1.4: a server that does not speak ESMTP answers EHLO with 5xx; HELO still works.
    ok = co_await command(phase::ehlo, probe, "HELO " + options_.ehlo_name, reply);
    if (ok && reply.code_class() == 2) {
      result_.ehlo = capabilities{};
      result_.ehlo_seen = true;
    }
  } else if (ok && reply.code_class() == 2) {
    result_.ehlo = parse_ehlo(reply);
    result_.ehlo_seen = true;
  }
  phase_done(phase::ehlo, t, ok && reply.code_class() == 2,
             ok ? describe(result_.ehlo) : result_.detail);
  if (ok && reply.code_class() != 2) {
    fail(probe, failure_reason::ehlo_rejected, reply.code,
         "ehlo: " + std::to_string(reply.code) + " " + printable_excerpt(reply.text(), 120));
    co_await quit();
    co_return false;
  }
  co_return ok;
}

asio::awaitable<void> session_run::quit() {
  auto t = clock::now();
  connection_->set_deadline(std::min(deadline_, clock::now() + quit_grace));
  smtp_reply reply;
  note("C: QUIT");
  if (!(co_await connection_->write_line("QUIT")) && !(co_await connection_->read_reply(reply))) {
    note_reply(reply);
  }
  phase_done(phase::quit, t, true, reply.code ? std::to_string(reply.code) : std::string("closed"));
}

}  // namespace detail

boost::asio::awaitable<session_result> run_session(const session_options& options,
                                                   dns_resolver& resolver) {
  detail::session_run run(options, resolver);
  co_return co_await run.run();
}

}  // namespace smtp_exporter::probes
