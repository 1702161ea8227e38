// What one SMTP session found: per-probe outcome, per-phase timings and the server's facts.
// A plain value; turning it into metrics happens in exporter/render/metrics.cpp, nowhere else.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/probe_list.hpp"

namespace smtp_exporter::probes {

// One enum, one stable string each (docs/metrics.md). Alerts and dashboards match these strings.
// One definition: the enumerators and their strings come from this list (the string is the
// enumerator's name; `none` reads "success"), so a reason cannot be half-added. Where each reason
// is decided: probes/core/verdicts.cpp, and nowhere else.
#define SMTP_EXPORTER_FAILURE_REASONS(X) \
  X(none)                                 \
  X(resolve_failed)                       \
  X(connect_refused)                      \
  X(connect_timeout)                      \
  X(connect_unreachable)                  \
  X(connect_prohibited)                   \
  X(banner_timeout)                       \
  X(banner_rejected)                      \
  X(banner_tempfail)                      \
  X(ehlo_rejected)                        \
  X(connection_closed)                    \
  X(protocol_error)                       \
  X(timeout)                              \
  X(starttls_unsupported)                 \
  X(starttls_rejected)                    \
  X(tls_handshake_failed)                 \
  X(tls_timeout)                          \
  X(cert_expired)                         \
  X(cert_not_yet_valid)                   \
  X(cert_untrusted)                       \
  X(cert_hostname_mismatch)               \
  X(auth_unsupported)                     \
  X(auth_requires_tls)                    \
  X(auth_rejected)                        \
  X(auth_tempfail)                        \
  X(auth_basic_disabled)                  \
  X(auth_app_password_required)           \
  X(auth_web_login_required)              \
  X(auth_token_rejected)                  \
  X(oauth2_token_unavailable)             \
  X(credentials_unavailable)              \
  X(unverified_tls_refused)               \
  X(envelope_requires_tls)                \
  X(sender_rejected)                      \
  X(sender_tempfail)                      \
  X(recipient_rejected)                   \
  X(recipient_tempfail)                   \
  X(data_rejected)                        \
  X(data_tempfail)                        \
  X(delivered_to_junk)                    \
  X(not_delivered)                        \
  X(imap_connect_failed)                  \
  X(imap_connect_timeout)                 \
  X(imap_tls_certificate)                 \
  X(imap_tls_failed)                      \
  X(imap_auth_rejected)                   \
  X(imap_protocol_error)                  \
  X(imap_timeout)                         \
  X(descriptors_exhausted)

enum class failure_reason : std::uint8_t {
#define SMTP_EXPORTER_ENUMERATOR(name) name,
  SMTP_EXPORTER_FAILURE_REASONS(SMTP_EXPORTER_ENUMERATOR)
#undef SMTP_EXPORTER_ENUMERATOR
};
inline constexpr std::size_t failure_reason_count = 0
#define SMTP_EXPORTER_COUNT(name) +1
    SMTP_EXPORTER_FAILURE_REASONS(SMTP_EXPORTER_COUNT)
#undef SMTP_EXPORTER_COUNT
    ;
// "success" for none.
std::string_view to_string(failure_reason r);
std::optional<failure_reason> parse_failure_reason(std::string_view s);

// True when this process cannot open one more descriptor (RLIMIT_NOFILE, or the system's table is
// full): a failed resolve or connect is then the exporter's problem, not the target's.
bool descriptors_exhausted_now();

// The probes, in session order: one per stage of probes/smtp/stages.cpp. Made from
// common/probe_list.hpp, as config::probe is, so the two cannot drift.
SMTP_EXPORTER_DEFINE_PROBE_LIST(probe_kind, probe_kind_names, probe_kind_count);
std::string_view to_string(probe_kind p);

// Phases in session order; each belongs to exactly one stage (probes/smtp/stages.cpp lists them).
enum class phase : std::uint8_t {
  resolve = 0, connect, banner, ehlo, starttls, tls_handshake, auth, mail_from, rcpt_to, data,
  quit,
  // The delivery probe's read-back over IMAP, after the session (probes/imap/readback.hpp):
  // connect, TLS, login and LIST; the polls until found (or the deadline); the header FETCH; the
  // delete and expunge.
  imap_login, imap_search, imap_fetch, imap_delete
};
inline constexpr std::size_t phase_count = 15;
inline constexpr std::array<std::string_view, phase_count> phase_names{
    "resolve", "connect", "banner", "ehlo", "starttls", "tls_handshake", "auth", "mail_from",
    "rcpt_to", "data", "quit", "imap_login", "imap_search", "imap_fetch", "imap_delete",
};
static_assert(static_cast<std::size_t>(phase::imap_delete) + 1 == phase_count);
std::string_view to_string(phase p);

// Seconds per phase; negative when the phase did not run. Made by not_run_phases(), so a new
// phase can never read "ran in 0 s".
using phase_times = std::array<double, phase_count>;
constexpr phase_times not_run_phases() {
  phase_times t{};
  for (auto& s : t) s = -1;
  return t;
}

// EHLO extensions the exporter reports; anything else is ignored (bounded label values).
enum class extension : std::uint8_t {
  starttls = 0, auth, size, pipelining, eight_bit_mime, smtputf8, chunking, dsn,
  enhanced_status_codes, requiretls, binarymime, deliverby, etrn, mt_priority, vrfy, help,
};
inline constexpr std::size_t extension_count = 16;
std::string_view to_string(extension e);  // the keyword as servers send it: "8BITMIME"
std::optional<extension> parse_extension(std::string_view keyword);  // case-insensitive

enum class auth_mechanism : std::uint8_t {
  plain = 0, login, cram_md5, xoauth2, oauthbearer, scram_sha_1, scram_sha_256, ntlm, gssapi,
};
inline constexpr std::size_t auth_mechanism_count = 9;
std::string_view to_string(auth_mechanism m);  // "CRAM-MD5"
std::optional<auth_mechanism> parse_auth_mechanism(std::string_view name);  // case-insensitive

// Bit sets over the enums above.
struct capabilities {
  std::uint32_t extensions = 0;       // bit per extension
  std::uint32_t auth_mechanisms = 0;  // bit per auth_mechanism
  std::uint64_t size_limit = 0;       // SIZE argument, 0 if absent

  bool has(extension e) const { return extensions & (1u << static_cast<unsigned>(e)); }
  bool has(auth_mechanism m) const { return auth_mechanisms & (1u << static_cast<unsigned>(m)); }
  void add(extension e) { extensions |= 1u << static_cast<unsigned>(e); }
  void add(auth_mechanism m) { auth_mechanisms |= 1u << static_cast<unsigned>(m); }
  bool operator==(const capabilities&) const = default;
};

// Certificates reported per chain; longer chains are cut (and their length still reported).
inline constexpr std::size_t max_chain_certificates = 10;

struct certificate_facts {
  int depth = 0;  // 0 = leaf, as sent by the server
  std::string subject_cn;
  std::string issuer_cn;
  double not_before = 0;  // Unix seconds
  double not_after = 0;
  bool operator==(const certificate_facts&) const = default;
};

enum class ocsp_status : std::uint8_t { good, revoked, unknown };
std::string_view to_string(ocsp_status s);

struct tls_facts {
  std::string version;  // "TLSv1.3"
  std::string cipher;   // "TLS_AES_256_GCM_SHA384"
  std::vector<certificate_facts> chain;  // at most max_chain_certificates
  std::size_t chain_length = 0;          // certificates the server sent
  bool verified = false;                 // chain and host name verified against the trust store
  bool hostname_match = false;           // the leaf covers the expected name (alone)
  failure_reason verify_reason = failure_reason::none;
  std::string verify_error;              // OpenSSL's text for the deciding error, for logs
  bool ocsp_stapled = false;
  ocsp_status ocsp = ocsp_status::unknown;
  double ocsp_next_update = 0;  // Unix seconds; 0 if absent

  double earliest_not_after() const;  // 0 when no certificate
  bool operator==(const tls_facts&) const = default;
};

// RFC 3463 "class.subject.detail" of a reply, e.g. "5.7.1"; at most 11 characters.
inline constexpr std::size_t max_enhanced_code = 11;

struct probe_outcome {
  bool ran = false;                     // the probe was due in this session
  failure_reason reason = failure_reason::none;
  int reply_code = 0;                   // the reply that decided the probe; 0 if none
  std::string enhanced_code;            // of the deciding reply, when it carried one
  // The deciding reply refused this client (policy) rather than the protocol: a 554 greeting or
  // an x.7.x enhanced code at greeting, AUTH, MAIL or RCPT. See probes/core/verdicts.hpp.
  bool policy_rejected = false;
  bool success() const { return ran && reason == failure_reason::none; }
};

// What the delivery probe sent, when the server accepted the message at end of data: what the
// read-back searches for (the probe id in its header) and where the latency starts.
struct delivery_sent {
  std::string probe_id;    // the X-SMTP-Exporter-Probe header's value
  std::string message_id;  // "<probe_id@domain>"
  double accepted_at = 0;  // Unix seconds of the 250 after the message
  std::string reply;       // that reply's first line, printable and cut (often a queue id)
};

struct session_result {
  std::array<probe_outcome, probe_kind_count> probes{};
  // Seconds per phase; negative when the phase did not run in this session.
  phase_times phase_seconds = not_run_phases();
  double total_seconds = 0;
  capabilities ehlo;           // the last EHLO seen (after TLS when TLS ran)
  bool ehlo_seen = false;
  std::string greeting;        // first line of the greeting, truncated, for humans (status page)
  std::string detail;          // one line on what went wrong, for logs; never holds a secret
  std::string peer_address;    // "ip:port" ("[ip6]:port") connected to, empty if none
  int ip_protocol = 0;         // 4 or 6: the family of the address connected to; 0 if none
  // The dialogue, "C: " and "S: " lines plus "* " notes; AUTH payloads redacted; bounded.
  std::vector<std::string> transcript;
  bool tls_seen = false;       // a handshake completed in this session
  tls_facts tls;
  std::optional<delivery_sent> delivery;  // set when the delivery probe's message was accepted

  probe_outcome& outcome(probe_kind p) { return probes[static_cast<std::size_t>(p)]; }
  const probe_outcome& outcome(probe_kind p) const { return probes[static_cast<std::size_t>(p)]; }
  void set_phase(phase p, double seconds) { phase_seconds[static_cast<std::size_t>(p)] = seconds; }
};

}  // namespace smtp_exporter::probes
