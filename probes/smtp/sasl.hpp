// A socket-free SASL client for SMTP AUTH (RFC 4954): it turns the server's 334 challenges into
// the lines to send and knows nothing of sockets, deadlines or any reply other than 334.
//
//   send initial_command()
//   while the reply is 334: r = respond(reply text); send *r, or on nullopt send "*" (cancel,
//   RFC 4954 section 4; the server answers 501) and report a protocol error
//   235: authenticated; 535: credentials rejected; 454/4xx: temporary; 504: mechanism refused
//
// Lines are returned without CRLF. Lines other than "AUTH <mechanism>", "" and "*" carry the
// secret (or its hash, or the user name); log them only through redact(), and cleanse() them
// once sent.
//
// Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login), CRAM-MD5 (RFC 2195),
// XOAUTH2 (Google / Microsoft bearer tokens).
//
// Thread-safety: none; one client per AUTH exchange. choose_mechanism and redact are pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "probes/core/result.hpp"
#include "common/secret.hpp"

namespace smtp_exporter::probes {

enum class sasl_mechanism : std::uint8_t { plain, login, cram_md5, xoauth2, oauthbearer };
// The name as sent after AUTH: "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER".
std::string_view to_string(sasl_mechanism m);

// Picks the strongest mechanism the server offers among those usable with the secret kind:
// for a password: CRAM-MD5 > PLAIN > LOGIN (PLAIN and LOGIN are equivalent over TLS; CRAM-MD5
// avoids sending the secret); for a bearer token: XOAUTH2 only. nullopt: nothing usable offered.
std::optional<sasl_mechanism> choose_mechanism(const capabilities& offered, bool have_token);

class sasl_client {
 public:
  // For XOAUTH2 `secret` is the bearer token; for the others, the password.
  sasl_client(sasl_mechanism m, std::string username, secret_string secret);

  // "AUTH PLAIN <base64>", "AUTH XOAUTH2 <base64>" (initial response, RFC 4954 section 4),
  // "AUTH LOGIN", "AUTH CRAM-MD5". When the initial response would push the line past SMTP's
  // 512-octet command limit (long OAuth tokens), RFC 4954 forbids it: the line is then
  // "AUTH PLAIN" / "AUTH XOAUTH2" and the response goes after the server's empty 334.
  std::string initial_command();

  // Given a 334 reply's text (base64 challenge), the next line to send; nullopt = protocol error
  // (bad base64, a challenge the mechanism does not expect, more than 4 round trips).
  // XOAUTH2: a 334 after the token carries the server's JSON error; the answer is "" and the
  // server then sends the final 535 (the JSON stays readable through xoauth2_error()).
  // After a nullopt every further call returns nullopt.
  std::optional<std::string> respond(std::string_view challenge_base64);

  // For redacted protocol traces: the same lines with every secret-bearing payload replaced by
  // "<redacted>". "AUTH PLAIN <base64>" -> "AUTH PLAIN <redacted>"; "AUTH LOGIN" unchanged; any
  // other line sent after AUTH -> "<redacted>", except "" and "*", which carry nothing and are kept
  // so a trace still shows the XOAUTH2 error continuation and a cancel. A trailing CRLF or LF is
  // kept.
  static std::string redact(std::string_view line_sent);

  // XOAUTH2: the decoded JSON of the server's error challenge, e.g.
  // {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}; empty if none came.
  // Server text, never the token; capped at 512 bytes. Good for a probe's `detail`.
  const std::string& xoauth2_error() const { return xoauth2_error_; }

  static constexpr int max_round_trips = 4;

 private:
  sasl_mechanism mechanism_;
  std::string username_;
  secret_string secret_;
  int round_trips_ = 0;
  bool username_sent_ = false;  // LOGIN
  bool secret_sent_ = false;    // the password, token or CRAM-MD5 digest went out
  bool error_acknowledged_ = false;  // XOAUTH2: the empty line after the error went out
  bool failed_ = false;
  std::string xoauth2_error_;

  std::string credentials_base64() const;  // PLAIN and XOAUTH2 response
  std::optional<std::string> respond_login(std::string_view prompt);
  std::optional<std::string> respond_cram_md5(std::string_view challenge) const;
};

}  // namespace smtp_exporter::probes
