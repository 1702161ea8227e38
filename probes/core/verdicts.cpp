#include "probes/core/verdicts.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <optional>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <openssl/x509_vfy.h>

namespace smtp_exporter::probes {
namespace {

constexpr std::size_t max_reply_excerpt = 120;

verdict make(failure_reason reason, std::string detail) {
  verdict v;
  v.reason = reason;
  v.detail = std::move(detail);
  return v;
}

// The 'subject' digit of an RFC 3463 code ("5.7.1" -> 7); -1 when absent or malformed.
int enhanced_subject(std::string_view enhanced) {
  auto dot = enhanced.find('.');
  if (dot == std::string_view::npos || dot + 1 >= enhanced.size()) return -1;
  int subject = 0;
  std::size_t i = dot + 1;
  for (; i < enhanced.size() && enhanced[i] >= '0' && enhanced[i] <= '9'; ++i) {
    subject = subject * 10 + (enhanced[i] - '0');
    if (subject > 999) return -1;
  }
  return i == dot + 1 ? -1 : subject;
}

// Which reason a refusal at `step` reads as, by reply class (4 = temporary, 5 = permanent).
failure_reason refusal_reason(smtp_step step, int code) {
  const int cls = code / 100;
  switch (step) {
    case smtp_step::greeting:
      return cls == 5 ? failure_reason::banner_rejected
             : cls == 4 ? failure_reason::banner_tempfail
                        : failure_reason::protocol_error;
    case smtp_step::ehlo: return failure_reason::ehlo_rejected;
    case smtp_step::starttls: return failure_reason::starttls_rejected;
    case smtp_step::auth:
      // RFC 4954: 530/538 = encryption required first; 504/534 = mechanism unusable.
      if (code == 530 || code == 538) return failure_reason::auth_requires_tls;
      if (code == 504 || code == 534) return failure_reason::auth_unsupported;
      return cls == 4 ? failure_reason::auth_tempfail
             : cls == 5 ? failure_reason::auth_rejected
                        : failure_reason::protocol_error;
    case smtp_step::mail_from:
      return cls == 4 ? failure_reason::sender_tempfail
             : cls == 5 ? failure_reason::sender_rejected
                        : failure_reason::protocol_error;
    case smtp_step::rcpt_to:
      return cls == 4 ? failure_reason::recipient_tempfail
             : cls == 5 ? failure_reason::recipient_rejected
                        : failure_reason::protocol_error;
    case smtp_step::data:
    case smtp_step::data_end:
      // Gmail's 550 5.7.26 (DMARC), 421 4.7.28 (rate), 550 5.7.1; Outlook's 550 5.7.708.
      return cls == 4 ? failure_reason::data_tempfail
             : cls == 5 ? failure_reason::data_rejected
                        : failure_reason::protocol_error;
  }
  return failure_reason::protocol_error;
}

// A refusal of AUTH whose enhanced code names what the account must change, not a wrong password
// nor a refusal of this client: providers keep these codes stable and document them (Microsoft's
// 5.7.139 and 5.7.30, "basic authentication is disabled"; Google's 5.7.9, "application-specific
// password required", and 5.7.14, "please log in via your web browser").
std::optional<failure_reason> account_setting_reason(int code, std::string_view enhanced_code) {
  if (code / 100 != 5) return std::nullopt;
  if (enhanced_code == "5.7.139" || enhanced_code == "5.7.30") {
    return failure_reason::auth_basic_disabled;
  }
  if (enhanced_code == "5.7.9") return failure_reason::auth_app_password_required;
  if (enhanced_code == "5.7.14") return failure_reason::auth_web_login_required;
  return std::nullopt;
}

bool accepted(smtp_step step, int code) {
  switch (step) {
    case smtp_step::greeting: return code == 220;
    case smtp_step::starttls: return code == 220;
    case smtp_step::auth: return code == 235;
    case smtp_step::ehlo:
    case smtp_step::mail_from:
    case smtp_step::rcpt_to:
    case smtp_step::data_end: return code / 100 == 2;
    case smtp_step::data: return code == 354;
  }
  return false;
}

std::string phase_words(phase p) {
  switch (p) {
    case phase::banner: return "greeting";
    case phase::tls_handshake: return "tls handshake";
    case phase::mail_from: return "MAIL FROM";
    case phase::rcpt_to: return "RCPT TO";
    case phase::data: return "DATA";
    default: return std::string(to_string(p));
  }
}

}  // namespace

std::string_view to_string(smtp_step s) {
  switch (s) {
    case smtp_step::greeting: return "greeting";
    case smtp_step::ehlo: return "EHLO";
    case smtp_step::starttls: return "STARTTLS";
    case smtp_step::auth: return "AUTH";
    case smtp_step::mail_from: return "MAIL FROM";
    case smtp_step::rcpt_to: return "RCPT TO";
    case smtp_step::data: return "DATA";
    case smtp_step::data_end: return "end of data";
  }
  return "reply";
}

std::string say_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  if (ms < 1000) return std::to_string(ms) + " ms";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + " s";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  return buf;
}

bool is_policy_refusal(smtp_step step, int code, std::string_view enhanced_code) {
  const int cls = code / 100;
  if (cls != 4 && cls != 5) return false;
  if (step == smtp_step::greeting && code == 554) return true;
  if (step == smtp_step::ehlo || step == smtp_step::starttls) return false;
  if (enhanced_subject(enhanced_code) != 7) return false;
  if (step == smtp_step::auth && enhanced_code.size() >= 5 && enhanced_code.substr(1) == ".7.8") {
    return false;
  }
  return true;
}

verdict on_reply(smtp_step step, int code, std::string_view enhanced_code, std::string_view text) {
  verdict v;
  v.reply_code = code;
  v.enhanced_code = std::string(enhanced_code.substr(0, max_enhanced_code));
  if (accepted(step, code)) return v;
  v.reason = refusal_reason(step, code);
  v.policy_rejected = is_policy_refusal(step, code, enhanced_code);
  if (step == smtp_step::auth) {
    if (auto account = account_setting_reason(code, enhanced_code)) {
      v.reason = *account;
      v.policy_rejected = false;  // the account's setting, which no other client would get past
    }
  }
  std::string said = std::to_string(code);
  if (!text.empty()) said += " " + printable_excerpt(text, max_reply_excerpt);
  if (v.reason == failure_reason::protocol_error) {
    v.detail = std::string(to_string(step)) + ": unexpected reply " + said;
  } else if (step == smtp_step::greeting) {
    v.detail = "greeting: the server refused the session: " + said;
  } else {
    v.detail = std::string(to_string(step)) + " refused: " + said;
  }
  if (v.policy_rejected) v.detail += " (a policy refusal of this client)";
  return v;
}

verdict on_auth_reply(int code, std::string_view enhanced_code, std::string_view text,
                      auth_secret sent, std::string_view server_challenge) {
  verdict v = on_reply(smtp_step::auth, code, enhanced_code, text);
  if (v.ok()) return v;
  const bool refuses_the_secret =
      v.reason == failure_reason::auth_rejected || v.reason == failure_reason::auth_basic_disabled ||
      v.reason == failure_reason::auth_app_password_required ||
      v.reason == failure_reason::auth_web_login_required;
  if (sent == auth_secret::issued_token && code / 100 == 5 && refuses_the_secret) {
    v.reason = failure_reason::auth_token_rejected;
    v.policy_rejected = false;
    std::string said = std::to_string(code);
    if (!text.empty()) said += " " + printable_excerpt(text, max_reply_excerpt);
    v.detail = "AUTH refused the access token the token endpoint issued: " + said;
  }
  if (!server_challenge.empty()) {
    v.detail += "; the server's error challenge: " + printable_excerpt(server_challenge, 300);
  }
  return v;
}

verdict on_readback(readback_finding finding, std::string_view detail) {
  const std::string said = printable_excerpt(detail, 300);
  switch (finding) {
    case readback_finding::inbox: return verdict{};
    case readback_finding::junk:
      return make(failure_reason::delivered_to_junk, "delivered to the Junk mailbox " + said);
    case readback_finding::not_found:
      return make(failure_reason::not_delivered, "not found over IMAP by the deadline: " + said);
    case readback_finding::imap_connect_failed:
      return make(failure_reason::imap_connect_failed, "IMAP (delivery unknown): " + said);
    case readback_finding::imap_connect_timeout:
      return make(failure_reason::imap_connect_timeout, "IMAP (delivery unknown): " + said);
    case readback_finding::imap_tls_certificate:
      return make(failure_reason::imap_tls_certificate, "IMAP (delivery unknown): " + said);
    case readback_finding::imap_tls_failed:
      return make(failure_reason::imap_tls_failed, "IMAP (delivery unknown): " + said);
    case readback_finding::imap_auth_rejected:
      return make(failure_reason::imap_auth_rejected, "IMAP (delivery unknown): " + said);
    case readback_finding::imap_protocol_error:
      return make(failure_reason::imap_protocol_error, "IMAP (delivery unknown): " + said);
    case readback_finding::imap_timeout:
      return make(failure_reason::imap_timeout, "IMAP (delivery unknown): " + said);
  }
  return make(failure_reason::imap_protocol_error, said);
}

verdict on_token_unavailable(std::string_view token_detail) {
  return make(failure_reason::oauth2_token_unavailable,
              token_detail.empty() ? std::string("unknown: the token source gave no token")
                                   : printable_excerpt(token_detail, 400));
}

net_error classify(const boost::system::error_code& ec, bool deadline_expired) {
  namespace error = boost::asio::error;
  if (deadline_expired || ec == error::operation_aborted) return net_error::deadline;
  // EMFILE (this process) or ENFILE (the system's file table); only as OS errors: another
  // category's value 23 means something else.
  if (ec == error::no_descriptors ||
      ec == boost::system::error_code(ENFILE, boost::system::system_category())) {
    return net_error::no_descriptors;
  }
  if (ec == error::connection_refused) return net_error::refused;
  if (ec == error::timed_out) return net_error::timed_out;
  if (ec == error::network_unreachable || ec == error::host_unreachable ||
      ec == error::network_down) {
    return net_error::unreachable;
  }
  // EACCES: ICMPv6 "administratively prohibited"; EPERM: this machine's own firewall (an OUTPUT
  // rule that drops or rejects) refused to send the SYN.
  if (ec == error::access_denied ||
      ec == boost::system::error_code(EPERM, boost::system::system_category())) {
    return net_error::prohibited;
  }
  if (ec == error::eof || ec == boost::asio::ssl::error::stream_truncated) return net_error::closed;
  if (ec == error::connection_reset || ec == error::broken_pipe ||
      ec == error::connection_aborted) {
    return net_error::reset;
  }
  return net_error::other;
}

net_error classify_connect(const boost::system::error_code& ec, bool deadline_expired,
                           const icmp_report& icmp) {
  const net_error e = classify(ec, deadline_expired);
  if (e == net_error::deadline || e == net_error::no_descriptors) return e;
  switch (meaning_of(icmp)) {
    case icmp_meaning::prohibited: return net_error::prohibited;
    case icmp_meaning::unreachable: return net_error::unreachable;
    case icmp_meaning::refused: return net_error::refused;
    case icmp_meaning::none:
    case icmp_meaning::other: break;
  }
  return e;
}

verdict on_descriptors_exhausted(phase during) {
  return make(failure_reason::descriptors_exhausted,
              phase_words(during) + ": this process has no free file descriptor (its "
              "RLIMIT_NOFILE, or the system's file table): the exporter's limit, not the server");
}

verdict on_resolve_failure(std::string_view host, std::string_view why,
                           std::chrono::milliseconds timeout) {
  const std::string name(host);
  // Timeouts in our words, like every other (the resolver's are "deadline exceeded" and c-ares'
  // "Timeout while contacting DNS servers").
  if (why == "deadline exceeded") {
    return make(failure_reason::resolve_failed, "resolve: no answer from the DNS servers for " +
                                                    name + " within " + say_duration(timeout));
  }
  if (why.find("Timeout") != std::string_view::npos) {
    return make(failure_reason::resolve_failed,
                "resolve: the DNS servers gave no answer for " + name);
  }
  return make(failure_reason::resolve_failed,
              "resolve: no address for " + name +
                  (why.empty() ? std::string() : " (" + std::string(why) + ")"));
}

verdict on_connect_failure(net_error e, const io_context_facts& f) {
  const std::string peer(f.peer);
  // " (ICMP host unreachable from 192.0.2.1)": which message, and who sent it.
  std::string icmp;
  if (f.icmp != nullptr && f.icmp->present()) {
    icmp = " (" + describe(*f.icmp) +
           (f.icmp->sender.empty() ? std::string() : " from " + f.icmp->sender) + ")";
  }
  switch (e) {
    case net_error::deadline:
      return make(failure_reason::connect_timeout,
                  "connect: no answer from " + peer + " within " + say_duration(f.timeout) +
                      " (SYN dropped: a firewall, or a blocked port)");
    case net_error::timed_out:
      return make(failure_reason::connect_timeout,
                  "connect: no answer from " + peer + "; the system stopped retrying");
    case net_error::refused:
      return make(failure_reason::connect_refused,
                  "connect: " + peer + " refused the connection" + icmp +
                      " (nothing listens there, or a firewall rejects it: the two look the same)");
    case net_error::unreachable:
      return make(failure_reason::connect_unreachable, "connect: no route to " + peer + icmp);
    case net_error::prohibited:
      if (icmp.empty()) {
        return make(failure_reason::connect_prohibited,
                    "connect: a firewall refused the connection to " + peer + " (" +
                        std::string(f.library_text) +
                        ": a rule of this machine, or an ICMP refusal): not the server");
      }
      return make(failure_reason::connect_prohibited,
                  "connect: a firewall refused the connection to " + peer + icmp +
                      ": a filter said no, which says nothing of the server being down");
    case net_error::no_descriptors: return on_descriptors_exhausted(phase::connect);
    default:
      return make(failure_reason::connect_unreachable,
                  "connect: cannot connect to " + peer + ": " + std::string(f.library_text));
  }
}

verdict on_io_failure(phase during, net_error e, const io_context_facts& f) {
  const std::string where = phase_words(during) + ": ";
  const std::string peer(f.peer);
  if (e == net_error::deadline || e == net_error::timed_out) {
    failure_reason reason = failure_reason::timeout;
    if (during == phase::connect) reason = failure_reason::connect_timeout;
    if (during == phase::banner) reason = failure_reason::banner_timeout;
    if (during == phase::starttls || during == phase::tls_handshake) {
      reason = failure_reason::tls_timeout;
    }
    std::string d = where + "no answer from " + peer + " within " + say_duration(f.timeout);
    if (during == phase::tls_handshake) {
      // The connection works: what stalls is TLS itself, or its first large packets.
      d += " (the TLS handshake stalled: a middlebox holding TLS records, or large packets such "
           "as the certificates dropped on the path)";
    }
    return make(reason, std::move(d));
  }
  if (e == net_error::malformed) {
    return make(failure_reason::protocol_error,
                where + "the reply was not SMTP: " + std::string(f.library_text));
  }
  if (during == phase::tls_handshake) {
    // An EOF or reset mid-handshake is the peer refusing TLS as much as an alert is; OpenSSL's
    // words ("wrong version number", "alert handshake failure") are facts worth keeping here.
    std::string d = where + peer + " ended the TLS handshake";
    if (!f.library_text.empty() && e != net_error::closed) d += ": " + std::string(f.library_text);
    return make(failure_reason::tls_handshake_failed, std::move(d));
  }
  switch (e) {
    case net_error::closed:
      return make(failure_reason::connection_closed, where + peer + " closed the connection");
    case net_error::reset:
      return make(failure_reason::connection_closed, where + peer + " reset the connection");
    default:
      return make(failure_reason::connection_closed,
                  where + "the connection to " + peer + " failed: " + std::string(f.library_text));
  }
}

verdict on_refusal(refusal r, std::string_view context) {
  const std::string ctx(context);
  switch (r) {
    case refusal::starttls_not_advertised:
      return make(failure_reason::starttls_unsupported, "starttls: not advertised in EHLO");
    case refusal::no_tls_context:
      return make(failure_reason::tls_handshake_failed, "tls: no TLS context configured");
    case refusal::credentials_need_tls:
      return make(failure_reason::auth_requires_tls,
                  "auth: refusing to send credentials without TLS (allow_plaintext is off)");
    case refusal::credentials_need_verified_tls:
      return make(failure_reason::unverified_tls_refused,
                  "auth: refusing to send credentials to a server whose certificate was not "
                  "verified (insecure_skip_verify; allow_unverified_credentials is off)");
    case refusal::no_credentials_configured:
      return make(failure_reason::auth_unsupported, "auth: no credentials configured");
    case refusal::auth_not_advertised:
      return make(failure_reason::auth_unsupported, "auth: AUTH not advertised in EHLO");
    case refusal::mechanism_not_offered:
      return make(failure_reason::auth_unsupported, "auth: " + ctx + " not offered by the server");
    case refusal::no_usable_mechanism:
      return make(failure_reason::auth_unsupported, "auth: no usable AUTH mechanism offered");
    case refusal::credentials_unreadable:
      // Our side's problem, not the server's; the text names the source, never the secret.
      return make(failure_reason::credentials_unavailable, "auth: " + ctx);
    case refusal::unexpected_challenge: {
      verdict v = make(failure_reason::protocol_error,
                       "auth: the server sent a challenge (334) the mechanism does not expect");
      v.reply_code = 334;
      return v;
    }
    case refusal::envelope_needs_tls:
      return make(failure_reason::envelope_requires_tls,
                  "envelope: refusing to send MAIL FROM/RCPT TO without TLS (allow_plaintext is "
                  "off)");
    case refusal::envelope_needs_verified_tls:
      return make(failure_reason::unverified_tls_refused,
                  "envelope: refusing to send MAIL FROM/RCPT TO to a server whose certificate was "
                  "not verified (insecure_skip_verify; allow_unverified_credentials is off)");
  }
  return make(failure_reason::protocol_error, "refused: " + ctx);
}

failure_reason reason_for_verify_errors(const std::vector<int>& codes) {
  if (codes.empty()) return failure_reason::none;
  auto has = [&](int code) { return std::find(codes.begin(), codes.end(), code) != codes.end(); };
  auto is_hostname_error = [](int code) {
    return code == X509_V_ERR_HOSTNAME_MISMATCH || code == X509_V_ERR_IP_ADDRESS_MISMATCH ||
           code == X509_V_ERR_EMAIL_MISMATCH;
  };
  if (has(X509_V_ERR_CERT_HAS_EXPIRED)) return failure_reason::cert_expired;
  if (has(X509_V_ERR_CERT_NOT_YET_VALID)) return failure_reason::cert_not_yet_valid;
  if (std::any_of(codes.begin(), codes.end(), [&](int c) { return !is_hostname_error(c); })) {
    return failure_reason::cert_untrusted;
  }
  return failure_reason::cert_hostname_mismatch;
}

verdict on_verification(const tls_facts& facts, bool handshake_seen) {
  if (!handshake_seen) {
    return make(failure_reason::cert_untrusted, "tls: no certificate was verified (no handshake)");
  }
  if (facts.verify_reason == failure_reason::none) return {};
  return make(facts.verify_reason,
              "tls: certificate verification failed: " + facts.verify_error);
}

}  // namespace smtp_exporter::probes
