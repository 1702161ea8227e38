// Where a failure reason is decided: pure functions from what happened (a connect or I/O error,
// a reply and its enhanced status code, certificate verification, a refusal of our own) to a
// verdict: the reason, the one-line detail in the user's terms, and the policy flag.
//
// The stages (probes/stage_*.cpp) describe what they saw and call these; nothing else in the
// code base picks a failure_reason. The detail wording lives here too, next to the decision, so
// every reason reads the same wherever it is shown (logs, status page, /probe/debug, diagnose).
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/system/error_code.hpp>

#include "common/text_escape.hpp"  // printable_excerpt, used with the reasons
#include "probes/core/icmp.hpp"
#include "probes/core/result.hpp"

namespace smtp_exporter::probes {

struct verdict {
  failure_reason reason = failure_reason::none;
  std::string detail;          // one line on what went wrong; empty on success; never a secret
  int reply_code = 0;          // the deciding reply, 0 if none
  std::string enhanced_code;   // its RFC 3463 code, e.g. "5.7.1", empty if none
  bool policy_rejected = false;
  bool ok() const { return reason == failure_reason::none; }
};

// The commands (and the greeting) whose reply decides a probe.
// data: the reply to DATA (354 goes on); data_end: the reply after the message's final "." (the
// server's acceptance of the message, or its refusal at end of data).
enum class smtp_step : std::uint8_t {
  greeting, ehlo, starttls, auth, mail_from, rcpt_to, data, data_end
};
// "greeting", "EHLO", "STARTTLS", "AUTH", "MAIL FROM", "RCPT TO", "DATA", "end of data"
std::string_view to_string(smtp_step s);

// The reply to `step`: success or the reason, with code, enhanced code and policy flag.
verdict on_reply(smtp_step step, int code, std::string_view enhanced_code, std::string_view text);

// Where the delivery probe's read-back found its message (probes/imap/readback.hpp maps its
// result to one of these): Inbox is success; Junk and not found by the deadline are the
// delivery's failures; an IMAP failure means "unknown", never "not delivered".
enum class readback_finding : std::uint8_t {
  inbox, junk, not_found, imap_connect_failed, imap_connect_timeout, imap_tls_certificate,
  imap_tls_failed, imap_auth_rejected, imap_protocol_error, imap_timeout
};
// `detail`: the mailbox, the deadline, or the IMAP error's words (never a secret).
verdict on_readback(readback_finding finding, std::string_view detail);

// What AUTH sent: a password (or a token read from token_file, which nothing vouches for), or an
// access token the token endpoint issued for this credential set (auth_options::token).
enum class auth_secret : std::uint8_t { password, issued_token };

// The final reply to AUTH. With an issued token, a permanent refusal that would read as a wrong
// password or an account setting (auth_rejected, auth_basic_disabled, …) is auth_token_rejected:
// the endpoint vouched for the token, so the server refuses what the token may do (its scope,
// the mailbox's SMTP AUTH setting, the app's grant), and no password advice applies; not a policy
// refusal either. Replies about the mechanism or TLS (504, 534 without a code, 530, 538) and
// temporary ones keep their reasons. `server_challenge` is the decoded error challenge that came
// before the reply ("status 401, scope …"), empty if none: it is added to the detail.
verdict on_auth_reply(int code, std::string_view enhanced_code, std::string_view text,
                      auth_secret sent, std::string_view server_challenge);

// The token source gave no token (the endpoint refused or failed, or backs off after a failure):
// oauth2_token_unavailable; `token_detail` is token_result::detail, the error class first
// ("invalid_grant: token endpoint answered HTTP 400 (AADSTS700082: …)"), and is the detail as is,
// so that it reads the same here, in the token metrics' logs and in diagnose.
verdict on_token_unavailable(std::string_view token_detail);

// True when a refusal at `step` is a refusal of this client (its IP, sender, credentials policy)
// rather than of the protocol: a 554 greeting, or an x.7.x enhanced code (RFC 3463 "security or
// policy status") at greeting, AUTH, MAIL or RCPT. x.7.8 at AUTH ("credentials invalid", RFC 4954)
// is a wrong password, not a policy, and reads auth_rejected alone.
bool is_policy_refusal(smtp_step step, int code, std::string_view enhanced_code);

// What an I/O operation ended with, in the terms the verdicts need.
enum class net_error : std::uint8_t {
  deadline,     // our deadline passed: the peer did not answer in time
  refused,      // connection refused (RST to SYN)
  timed_out,    // the kernel gave up (SYN retries, keep-alive)
  unreachable,  // no route, network down
  prohibited,   // a filter said no: ICMP administratively prohibited, or a local rule (EPERM)
  closed,       // orderly close (EOF)
  reset,        // connection reset or broken pipe
  malformed,    // the bytes were not an SMTP reply
  no_descriptors,  // this process is out of file descriptors (EMFILE, ENFILE): not the peer
  other,
};
net_error classify(const boost::system::error_code& ec, bool deadline_expired);
// A failed connect, refined by the ICMP error behind it when the kernel queued one: IPv4's
// "administratively prohibited" fails connect() with EHOSTUNREACH, as "host unreachable" does,
// and only the message tells them apart (probes/core/icmp.hpp).
net_error classify_connect(const boost::system::error_code& ec, bool deadline_expired,
                           const icmp_report& icmp);

struct io_context_facts {
  std::string_view peer;                // "127.0.0.1:25", or host:port before connecting
  std::chrono::milliseconds timeout{};  // the session's deadline
  std::string_view library_text;        // the library's message, used only where it adds facts
  const icmp_report* icmp = nullptr;    // connect: the ICMP error behind the failure, if any
};

// A resolve or connect failed because this process had no free descriptor: the exporter's fault,
// not the target's.
verdict on_descriptors_exhausted(phase during);

// Resolving `host` failed; `why` is the resolver's explanation ("deadline exceeded" when our
// deadline passed, c-ares' text otherwise); `timeout` the session's.
verdict on_resolve_failure(std::string_view host, std::string_view why,
                           std::chrono::milliseconds timeout);
// The connection could not be made.
verdict on_connect_failure(net_error e, const io_context_facts& facts);
// Reading or writing failed during `during` (a phase after connect).
verdict on_io_failure(phase during, net_error e, const io_context_facts& facts);

// Refusals of our own: the exporter will not go on, whatever the server would say.
enum class refusal : std::uint8_t {
  starttls_not_advertised,
  no_tls_context,
  credentials_need_tls,          // auth on a plain connection without allow_plaintext
  credentials_need_verified_tls, // auth over unverified TLS without allow_unverified_credentials
  no_credentials_configured,
  auth_not_advertised,
  mechanism_not_offered,         // context: the mechanism's name
  no_usable_mechanism,
  credentials_unreadable,        // context: where the secret was looked for (never the secret)
  unexpected_challenge,          // a 334 the SASL client cannot answer
  envelope_needs_tls,
  envelope_needs_verified_tls,
};
verdict on_refusal(refusal r, std::string_view context = {});

// TLS verification, after a completed handshake (`facts`), or none at all (`handshake_seen`
// false: nothing was verified).
verdict on_verification(const tls_facts& facts, bool handshake_seen);

// The failure reason for a set of OpenSSL verification errors (none when empty). An expired or
// not-yet-valid certificate says more than "untrusted", and a chain problem more than the name.
failure_reason reason_for_verify_errors(const std::vector<int>& codes);

// "2 s", "1.5 s", "250 ms": a duration as a detail line says it.
std::string say_duration(std::chrono::milliseconds d);

}  // namespace smtp_exporter::probes
