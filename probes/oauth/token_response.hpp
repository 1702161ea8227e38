// What a token endpoint's answer means (RFC 6749 sections 5.1 and 5.2): a token, or one error
// class. Pure functions over (HTTP status, body), table-tested without a socket.
//
// No text made here carries a token, a refresh token or a secret: the error classes are fixed
// words, the provider's code is kept only when it looks like one (letters, digits, "_.-"), and the
// provider's description is cut to a printable excerpt from which the caller removes every secret
// it sent (redact_secrets), because a server may echo what it received.
//
// Thread-safety: pure functions; a token_response is a value.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "common/secret.hpp"

namespace smtp_exporter::probes::oauth {

// The error classes of issue 20, one word each (metrics labels, reasons' details, docs).
enum class token_error : std::uint8_t {
  none,
  invalid_grant,        // refresh token revoked or expired, assertion refused: re-consent
  invalid_client,       // client secret wrong or expired, unknown client
  unauthorized_client,  // this client may not use this grant
  invalid_scope,
  unreachable,          // resolve, connect or TLS (certificate, host name) failed
  timeout,              // the whole exchange's deadline passed
  http_error,           // any other status, or an OAuth error code outside the four above
  malformed_response,   // not JSON, no access_token, no usable expires_in
  redirect,             // a 3xx: never followed
  body_too_large,       // over max_token_body_bytes
  not_https,            // the token URL is not https://: refused before any packet
};
inline constexpr std::size_t token_error_count = 12;
std::string_view token_error_name(token_error error);

// An answer body above this is refused (a token answer is a few KiB; Microsoft's are ~3 KiB).
inline constexpr std::size_t max_token_body_bytes = 64 * 1024;

struct token_response {
  token_error error = token_error::none;
  int http_status = 0;  // 0: no HTTP answer
  // Success.
  secret_string access_token;
  std::chrono::seconds expires_in{0};
  secret_string refresh_token;  // empty: the provider did not rotate it
  std::string token_type;       // "Bearer" as sent
  std::string scope;            // granted scope as sent; empty when the provider omits it
  // Failure.
  std::string provider_code;  // "invalid_grant", "AADSTS700082", …: safe to log
  std::string description;    // excerpt of error_description (or the transport's words)

  bool ok() const { return error == token_error::none; }
};

// `body` is the whole answer (the client caps it first). A 3xx is `redirect`; a 2xx must be a JSON
// object with a non-empty string access_token and a positive expires_in (a number, or digits in
// a string as some providers send); any 4xx/5xx with an OAuth error object is classified by its
// `error`, else `http_error`. `sent_secrets` (what the request carried: refresh token, client
// secret, assertion) are redacted from the description before it is cut to an excerpt.
token_response parse_token_response(int http_status, std::string_view body,
                                    std::initializer_list<std::string_view> sent_secrets = {});

// The provider's most specific code: Microsoft's "AADSTS<n>" from error_codes[0] or the
// description, else the OAuth `error` value when it is a plain word; empty otherwise.
std::string provider_code(std::string_view oauth_error, std::string_view description,
                          const std::string* first_error_code);

// Replaces every occurrence of each non-empty secret (and of its URL-encoded form) in `text` with
// "[redacted]". Secrets shorter than 4 bytes are ignored (they would redact ordinary words).
void redact_secrets(std::string& text, std::initializer_list<std::string_view> secrets);

// One line for logs and probe details, e.g.
//   "invalid_grant: token endpoint answered HTTP 400 (AADSTS700082: The refresh token has expired…)"
// Never contains a token (the response's tokens are not read).
std::string describe(const token_response& response);

}  // namespace smtp_exporter::probes::oauth
