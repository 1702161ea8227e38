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
// XOAUTH2 (Google / Microsoft bearer tokens), OAUTHBEARER (RFC 7628).
//
// Thread-safety: none; one client per AUTH exchange. choose_mechanism and redact are pure.
#pragma once

#include <cstddef>
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
// avoids sending the secret); for a bearer token: OAUTHBEARER > XOAUTH2, never a password
// mechanism (a token sent as a password would be refused, and counted as a wrong password).
// OAUTHBEARER first because it is the standard (RFC 7628): its error challenge and the client's
// answer to it are specified, and its message names the host and port the token is meant for.
// XOAUTH2 is the vendors' older form, kept for the servers that offer only it (Microsoft 365,
// Outlook.com). nullopt: nothing usable offered.
std::optional<sasl_mechanism> choose_mechanism(const capabilities& offered, bool have_token);

// What a server's error challenge to a bearer token said: the 334 that XOAUTH2 and OAUTHBEARER
// (RFC 7628 section 3.2.2) send before the final 5xx, a JSON object such as
// {"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}. Server text, bounded
// (each field at most max_field bytes, printable); never the token.
struct sasl_error_challenge {
  static constexpr std::size_t max_field = 200;
  bool received = false;  // a 334 came after the token
  std::string status;     // "401", "invalid_token"; a JSON number is kept as its digits
  std::string scope;      // the scope the server wanted
  std::string schemes;    // "bearer"
  std::string excerpt;    // the challenge as text when it was not such a JSON object
};
// Pure; `decoded` is the challenge after base64 decoding.
sasl_error_challenge decode_error_challenge(std::string_view decoded);
// "status 401, scope https://mail.google.com/, schemes bearer"; for a non-JSON challenge
// "challenge: <excerpt>"; empty when none was received.
std::string describe(const sasl_error_challenge& challenge);

// The server as OAUTHBEARER names it in its message (RFC 7628 section 3.1: host, port); the
// other mechanisms ignore it. Empty host / port 0: the key is left out.
struct sasl_peer {
  std::string host;
  std::uint16_t port = 0;
};

class sasl_client {
 public:
  // For XOAUTH2 and OAUTHBEARER `secret` is the bearer token; for the others, the password.
  sasl_client(sasl_mechanism m, std::string username, secret_string secret, sasl_peer peer = {});

  // "AUTH PLAIN <base64>", "AUTH XOAUTH2 <base64>", "AUTH OAUTHBEARER <base64>" (initial
  // response, RFC 4954 section 4), "AUTH LOGIN", "AUTH CRAM-MD5". When the initial response would
  // push the line past SMTP's 512-octet command limit (long OAuth tokens), RFC 4954 forbids it:
  // the line is then "AUTH PLAIN" / "AUTH XOAUTH2" / "AUTH OAUTHBEARER" and the response goes
  // after the server's empty 334.
  // OAUTHBEARER's message (RFC 7628 section 3.1): "n,a=USER," ^A "host=HOST" ^A "port=PORT" ^A
  // "auth=Bearer TOKEN" ^A ^A, the user escaped as RFC 5801's saslname ("," -> "=2C", "=" -> "=3D").
  std::string initial_command();

  // Given a 334 reply's text (base64 challenge), the next line to send; nullopt = protocol error
  // (bad base64, a challenge the mechanism does not expect, more than 4 round trips).
  // XOAUTH2 and OAUTHBEARER: a 334 after the token carries the server's JSON error; the answer is
  // "" for XOAUTH2 and a lone ^A ("AQ==") for OAUTHBEARER (RFC 7628 section 3.2.3), and the server
  // then sends its final 5xx (the error stays readable through error_challenge()).
  // After a nullopt every further call returns nullopt.
  std::optional<std::string> respond(std::string_view challenge_base64);

  // For redacted protocol traces: the same lines with every secret-bearing payload replaced by
  // "<redacted>". "AUTH PLAIN <base64>" -> "AUTH PLAIN <redacted>"; "AUTH LOGIN" unchanged; any
  // other line sent after AUTH -> "<redacted>", except "" and "*", which carry nothing and are kept
  // so a trace still shows the XOAUTH2 error continuation and a cancel. A trailing CRLF or LF is
  // kept.
  static std::string redact(std::string_view line_sent);

  // XOAUTH2 and OAUTHBEARER: the server's error challenge, decoded (received false if none
  // came). Good for a probe's `detail` through describe().
  const sasl_error_challenge& error_challenge() const { return error_challenge_; }

  static constexpr int max_round_trips = 4;

 private:
  sasl_mechanism mechanism_;
  std::string username_;
  secret_string secret_;
  sasl_peer peer_;
  int round_trips_ = 0;
  bool username_sent_ = false;  // LOGIN
  bool secret_sent_ = false;    // the password, token or CRAM-MD5 digest went out
  bool error_acknowledged_ = false;  // bearer tokens: the answer to the error went out
  bool failed_ = false;
  sasl_error_challenge error_challenge_;

  bool sends_initial_response() const;  // PLAIN, XOAUTH2, OAUTHBEARER
  std::string credentials_base64() const;  // PLAIN, XOAUTH2 and OAUTHBEARER response
  std::optional<std::string> respond_login(std::string_view prompt);
  std::optional<std::string> respond_cram_md5(std::string_view challenge) const;
};

}  // namespace smtp_exporter::probes
