// The session's frame: runs the stage table in order, keeps the books (who decided what), and
// holds what every stage shares: commands, the transcript, EHLO and QUIT.
#include "probes/smtp/session.hpp"

#include <algorithm>
#include <memory>

#include "common/host_port.hpp"
#include "probes/smtp/ehlo.hpp"
#include "probes/smtp/session_run.hpp"

namespace smtp_exporter::probes {
namespace detail {

extern const std::array<const stage*, probe_kind_count> registered;

std::string describe(const capabilities& caps) {
  std::string out;
  for (std::size_t i = 0; i < extension_count; ++i) {
    auto e = static_cast<extension>(i);
    if (!caps.has(e)) continue;
    if (!out.empty()) out += ' ';
    out += to_string(e);
    if (e == extension::auth) {
      std::string mechs;
      for (std::size_t m = 0; m < auth_mechanism_count; ++m) {
        auto mech = static_cast<auth_mechanism>(m);
        if (!caps.has(mech)) continue;
        if (!mechs.empty()) mechs += ' ';
        mechs += to_string(mech);
      }
      out += "(" + mechs + ")";
    }
  }
  return out.empty() ? std::string("no extensions") : out;
}

session_run::session_run(const session_options& o, dns_resolver& r) : options(o), resolver(r) {
  for (std::size_t i = 0; i < probe_kind_count; ++i) result.probes[i].ran = options.due[i];
}

bool session_run::due_from(probe_kind p) const {
  for (auto i = static_cast<std::size_t>(p); i < probe_kind_count; ++i) {
    if (options.due[i]) return true;
  }
  return false;
}

asio::awaitable<session_result> session_run::run() {
  start = clock::now();
  deadline = start + options.timeout;
  for (const stage* s : registered) {
    if (!s->wanted(*this)) continue;
    if (!co_await s->run(*this)) break;
  }
  // Tell the server goodbye; on a failure the reason is known: do not wait out the timeout.
  if (connection_usable) co_await quit();
  if (connection) connection->close();
  // A due probe that no stage decided did not really run (e.g. tls on a plain-text target).
  for (std::size_t i = 0; i < probe_kind_count; ++i) {
    if (!decided[i]) result.probes[i] = probe_outcome{};
  }
  result.total_seconds = seconds_since(start);
  co_return std::move(result);
}

void session_run::fail(probe_kind first, verdict v) {
  for (auto i = static_cast<std::size_t>(first); i < probe_kind_count; ++i) {
    if (!result.probes[i].ran || decided[i]) continue;
    auto& o = result.probes[i];
    o.reason = v.reason;
    o.reply_code = v.reply_code;
    o.enhanced_code = v.enhanced_code;
    o.policy_rejected = v.policy_rejected;
    decided[i] = true;
  }
  if (result.detail.empty()) result.detail = std::move(v.detail);
}

void session_run::succeed(probe_kind p, const verdict& v) {
  auto i = static_cast<std::size_t>(p);
  if (!result.probes[i].ran || decided[i]) return;
  result.probes[i].reply_code = v.reply_code;
  result.probes[i].enhanced_code = v.enhanced_code;
  decided[i] = true;
}

bool session_run::withhold(probe_kind probe, refusal without_tls, refusal unverified) {
  if (!connection->tls_active() && !options.allow_plaintext) {
    fail(probe, on_refusal(without_tls));
    return true;
  }
  if (connection->tls_active() && !result.tls.verified && !options.allow_unverified_credentials) {
    fail(probe, on_refusal(unverified));
    return true;
  }
  return false;
}

std::string session_run::peer() const {
  return result.peer_address.empty() ? host_port(options.host, options.port)
                                     : result.peer_address;
}

verdict session_run::io_failed(phase p, const error_code& ec) {
  const bool expired = connection && connection->deadline_expired();
  net_error e = ec == smtp_connection::protocol_error ? net_error::malformed : classify(ec, expired);
  const std::string peer_text = peer();
  const std::string library = e == net_error::malformed && connection ? connection->parse_error()
                                                                      : ec.message();
  verdict v = on_io_failure(p, e, {peer_text, options.timeout, library});
  note("* " + v.detail);
  connection_usable = false;
  return v;
}

void session_run::note(std::string line) {
  if (result.transcript.size() >= max_transcript_lines) return;
  if (line.size() > max_transcript_line) line.resize(max_transcript_line);
  result.transcript.push_back(std::move(line));
}

void session_run::phase_done(phase p, clock::time_point started, bool ok, std::string summary) {
  double seconds = seconds_since(started);
  result.set_phase(p, seconds);
  if (options.on_event) options.on_event(session_event{p, ok, seconds, std::move(summary)});
}

void session_run::note_reply(const smtp_reply& reply) {
  for (std::size_t i = 0; i < reply.lines.size(); ++i) {
    const bool last = i + 1 == reply.lines.size();
    // A "220-" preamble ended by a "554 " refusal keeps its own code in the transcript.
    const int code = !last && reply.preamble_code != 0 ? reply.preamble_code : reply.code;
    note("S: " + std::to_string(code) + (last ? " " : "-") +
         printable_excerpt(reply.lines[i], max_transcript_line));
  }
}

std::string session_run::reply_summary(const smtp_reply& reply) const {
  return std::to_string(reply.code) + " " + printable_excerpt(reply.text(), max_reply_summary);
}

asio::awaitable<bool> session_run::read_reply_in(phase p, probe_kind probe, smtp_reply& reply) {
  auto ec = co_await connection->read_reply(reply);
  if (ec) {
    fail(probe, io_failed(p, ec));
    co_return false;
  }
  note_reply(reply);
  co_return true;
}

asio::awaitable<bool> session_run::command(phase p, probe_kind probe, std::string_view line,
                                           smtp_reply& reply) {
  // Anything sent during AUTH may carry the secret or its base64: only the redacted form is kept.
  note("C: " + (p == phase::auth ? sasl_client::redact(line) : std::string(line)));
  auto ec = co_await connection->write_line(line);
  if (ec) {
    fail(probe, io_failed(p, ec));
    co_return false;
  }
  co_return co_await read_reply_in(p, probe, reply);
}

asio::awaitable<bool> session_run::courtesy(std::string_view line, smtp_reply& reply) {
  note("C: " + std::string(line));
  auto ec = co_await connection->write_line(line);
  if (!ec) ec = co_await connection->read_reply(reply);
  if (ec) co_return false;
  note_reply(reply);
  co_return true;
}

asio::awaitable<bool> session_run::ehlo(probe_kind probe) {
  smtp_reply reply;
  auto t = clock::now();
  bool ok = co_await command(phase::ehlo, probe, "EHLO " + options.ehlo_name, reply);
  if (ok && reply.code_class() == 5) {
    // RFC 5321 4.1.4: a server that does not speak ESMTP answers EHLO with 5xx; HELO still works.
    ok = co_await command(phase::ehlo, probe, "HELO " + options.ehlo_name, reply);
    if (ok && reply.code_class() == 2) {
      result.ehlo = capabilities{};
      result.ehlo_seen = true;
    }
  } else if (ok && reply.code_class() == 2) {
    result.ehlo = parse_ehlo(reply);
    result.ehlo_seen = true;
  }
  if (!ok) {
    phase_done(phase::ehlo, t, false, result.detail);
    co_return false;
  }
  verdict v = on_reply(smtp_step::ehlo, reply.code, reply.enhanced_code, reply.text());
  phase_done(phase::ehlo, t, v.ok(), v.ok() ? describe(result.ehlo) : v.detail);
  if (!v.ok()) {
    fail(probe, std::move(v));
    co_return false;
  }
  co_return true;
}

asio::awaitable<void> session_run::quit() {
  auto t = clock::now();
  connection->set_deadline(std::min(deadline, clock::now() + quit_grace));
  smtp_reply reply;
  co_await courtesy("QUIT", reply);
  phase_done(phase::quit, t, true, reply.code ? std::to_string(reply.code) : std::string("closed"));
}

}  // namespace detail

boost::asio::awaitable<session_result> run_session(const session_options& options,
                                                   dns_resolver& resolver) {
  detail::session_run run(options, resolver);
  co_return co_await run.run();
}

}  // namespace smtp_exporter::probes
