// The tls probe's stages: STARTTLS (or implicit TLS), the handshake, verification.
#include "probes/session_run.hpp"
#include "probes/tls_facts.hpp"

namespace smtp_exporter::probes::detail {

asio::awaitable<bool> session_run::starttls() {
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

asio::awaitable<bool> session_run::tls_handshake(probe_kind probe) {
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

bool session_run::check_verification() {
  auto reason = result_.tls_seen ? result_.tls.verify_reason : failure_reason::cert_untrusted;
  if (reason == failure_reason::none || options_.insecure_skip_verify) return true;
  fail(probe_kind::tls, reason, tls_reply_code_,
       "tls: certificate verification failed: " + result_.tls.verify_error);
  return false;
}

}  // namespace smtp_exporter::probes::detail
