#include "probes/session.hpp"

#include <algorithm>
#include <memory>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "probes/ehlo.hpp"
#include "probes/smtp_connection.hpp"
#include "probes/tls_facts.hpp"

namespace smtp_exporter::probes {

namespace asio = boost::asio;
using boost::system::error_code;
using clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t max_greeting_chars = 200;
constexpr std::size_t max_transcript_lines = 100;
constexpr std::size_t max_transcript_line = 300;
// A polite QUIT must not hold a failed session open: the reason is already known.
constexpr auto quit_grace = std::chrono::seconds(2);

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

std::string printable_excerpt(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

// "STARTTLS SIZE PIPELINING AUTH(PLAIN LOGIN)": the capabilities the exporter understands.
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

// The run's state as it moves through the stages. Probes are decided in order; a failure decides
// every probe that is due and not decided yet.
class session_run {
 public:
  session_run(const session_options& options, dns_resolver& resolver)
      : options_(options), resolver_(resolver) {
    for (std::size_t i = 0; i < probe_kind_count; ++i) result_.probes[i].ran = options.due[i];
  }

  asio::awaitable<session_result> run() {
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

 private:
  bool due(probe_kind p) const { return options_.due[static_cast<std::size_t>(p)]; }
  bool needs_tls() const {
    return options_.mode != transport::plain && (due(probe_kind::tls) || due(probe_kind::auth));
  }

  // Fails every due, undecided probe from `first` on.
  void fail(probe_kind first, failure_reason reason, int reply_code, std::string detail) {
    for (auto i = static_cast<std::size_t>(first); i < probe_kind_count; ++i) {
      if (!result_.probes[i].ran || decided_[i]) continue;
      result_.probes[i].reason = reason;
      result_.probes[i].reply_code = reply_code;
      decided_[i] = true;
    }
    if (result_.detail.empty()) result_.detail = std::move(detail);
  }
  void succeed(probe_kind p, int reply_code) {
    auto i = static_cast<std::size_t>(p);
    if (!result_.probes[i].ran || decided_[i]) return;
    result_.probes[i].reply_code = reply_code;
    decided_[i] = true;
  }

  // Reason for an I/O error in the phase that was running.
  failure_reason io_failure(phase p, const error_code& ec) const {
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

  std::string io_detail(phase p, const error_code& ec) const {
    std::string d{to_string(p)};
    d += ": ";
    if (connection_->deadline_expired()) return d + "deadline exceeded";
    if (ec == smtp_connection::protocol_error) return d + connection_->parse_error();
    return d + ec.message();
  }

  void note(std::string line) {
    if (result_.transcript.size() >= max_transcript_lines) return;
    if (line.size() > max_transcript_line) line.resize(max_transcript_line);
    result_.transcript.push_back(std::move(line));
  }

  // Records a phase's duration and tells an interested caller (diagnose) at once.
  void phase_done(phase p, clock::time_point started, bool ok, std::string summary) {
    double seconds = seconds_since(started);
    result_.set_phase(p, seconds);
    if (options_.on_event) options_.on_event(session_event{p, ok, seconds, std::move(summary)});
  }

  void note_reply(const smtp_reply& reply) {
    for (std::size_t i = 0; i < reply.lines.size(); ++i) {
      note("S: " + std::to_string(reply.code) + (i + 1 < reply.lines.size() ? "-" : " ") +
           printable_excerpt(reply.lines[i], max_transcript_line));
    }
  }

  // Reads one reply; false after recording the failure.
  asio::awaitable<bool> read_reply_in(phase p, probe_kind probe, smtp_reply& reply) {
    auto ec = co_await connection_->read_reply(reply);
    if (ec) {
      fail(probe, io_failure(p, ec), 0, io_detail(p, ec));
      note("* " + io_detail(p, ec));
      co_return false;
    }
    note_reply(reply);
    co_return true;
  }

  asio::awaitable<bool> command(phase p, probe_kind probe, std::string_view line,
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

  asio::awaitable<void> execute() {
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

  // AUTH as the sending application would, then nothing more: the probe never sends mail.
  asio::awaitable<bool> authenticate() {
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
    auto credentials = load_credentials(auth.credentials);
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
    if (!client.xoauth2_error().empty()) detail += " " + client.xoauth2_error();
    fail_auth(reason, reply.code, std::move(detail));
    co_await quit();
    co_return false;
  }

  bool offered(sasl_mechanism m) const {
    switch (m) {
      case sasl_mechanism::plain: return result_.ehlo.has(auth_mechanism::plain);
      case sasl_mechanism::login: return result_.ehlo.has(auth_mechanism::login);
      case sasl_mechanism::cram_md5: return result_.ehlo.has(auth_mechanism::cram_md5);
      case sasl_mechanism::xoauth2: return result_.ehlo.has(auth_mechanism::xoauth2);
    }
    return false;
  }

  asio::awaitable<bool> ehlo(probe_kind probe) {
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

  asio::awaitable<bool> starttls() {
    if (!result_.ehlo.has(extension::starttls)) {
      fail(probe_kind::tls, failure_reason::starttls_unsupported, 0,
           "starttls: not advertised in EHLO");
      co_await quit();
      co_return false;
    }
    smtp_reply reply;
    auto t = clock::now();
    bool ok = co_await command(phase::starttls, probe_kind::tls, "STARTTLS", reply);
    phase_done(phase::starttls, t, ok && reply.code == 220,
               ok ? std::to_string(reply.code) + " " + printable_excerpt(reply.text(), 120)
                  : result_.detail);
    if (!ok) co_return false;
    tls_reply_code_ = reply.code;
    if (reply.code != 220) {
      fail(probe_kind::tls, failure_reason::starttls_rejected, reply.code,
           "starttls: " + std::to_string(reply.code) + " " + printable_excerpt(reply.text(), 120));
      co_await quit();
      co_return false;
    }
    if (!co_await tls_handshake(probe_kind::tls)) co_return false;
    // RFC 3207: the client must forget what it knew and ask again; AUTH is often offered only now.
    co_return co_await ehlo(probe_kind::tls);
  }

  asio::awaitable<bool> tls_handshake(probe_kind probe) {
    if (options_.tls_context == nullptr) {
      fail(probe, failure_reason::tls_handshake_failed, 0, "tls: no TLS context configured");
      co_return false;
    }
    auto t = clock::now();
    const std::string& name = options_.server_name.empty() ? options_.host : options_.server_name;
    auto ec = co_await connection_->handshake(*options_.tls_context, name,
                                              options_.min_tls_version);
    if (ec) {
      fail(probe, io_failure(phase::tls_handshake, ec), tls_reply_code_,
           io_detail(phase::tls_handshake, ec));
      note("* " + io_detail(phase::tls_handshake, ec));
      phase_done(phase::tls_handshake, t, false, io_detail(phase::tls_handshake, ec));
      co_return false;
    }
    result_.tls_seen = true;
    result_.tls = collect_tls_facts(connection_->tls_handle(), connection_->tls_verify_errors(), name);
    std::string summary = result_.tls.version + " " + result_.tls.cipher +
                          (result_.tls.verified ? ", certificate verified"
                                                : ", certificate NOT verified: " + result_.tls.verify_error);
    note("* TLS " + summary);
    phase_done(phase::tls_handshake, t, true, summary);
    co_return true;
  }

  bool check_verification() {
    auto reason = result_.tls_seen ? result_.tls.verify_reason : failure_reason::cert_untrusted;
    if (reason == failure_reason::none || options_.insecure_skip_verify) return true;
    fail(probe_kind::tls, reason, tls_reply_code_,
         "tls: certificate verification failed: " + result_.tls.verify_error);
    return false;
  }

  asio::awaitable<void> quit() {
    auto t = clock::now();
    connection_->set_deadline(std::min(deadline_, clock::now() + quit_grace));
    smtp_reply reply;
    note("C: QUIT");
    if (!(co_await connection_->write_line("QUIT")) && !(co_await connection_->read_reply(reply))) {
      note_reply(reply);
    }
    phase_done(phase::quit, t, true, reply.code ? std::to_string(reply.code) : std::string("closed"));
  }

  const session_options& options_;
  dns_resolver& resolver_;
  session_result result_;
  std::array<bool, probe_kind_count> decided_{};
  std::shared_ptr<smtp_connection> connection_;
  clock::time_point start_;
  clock::time_point deadline_;
  int tls_reply_code_ = 0;
};

}  // namespace

asio::awaitable<session_result> run_session(const session_options& options,
                                            dns_resolver& resolver) {
  session_run run(options, resolver);
  co_return co_await run.run();
}

}  // namespace smtp_exporter::probes
