// One request to an OAuth 2.0 token endpoint: HTTPS POST of a form, on the caller's executor
// (Boost.Beast over Asio SSL, C++20 coroutines; no thread per request).
//
// Safety rules, each an error class of token_response.hpp:
// - https:// only: another scheme is `not_https` before any packet;
// - the server's certificate is verified against `ca_file` (else the system store) and its name
//   against the URL's host (SNI sent for names): any failure is `unreachable`;
// - a 3xx is `redirect`, never followed (a token endpoint that redirects is misconfigured, and
//   following it would send the secret elsewhere);
// - the answer body is capped at max_token_body_bytes (`body_too_large`);
// - one deadline covers resolve, connect, handshake, write and read (`timeout`).
//
// Thread-safety: token_url_parts and token_form are values; request_token may run concurrently
// on any executors (each call owns its socket); the ssl::context is shared read-only.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/secret.hpp"
#include "probes/oauth/token_response.hpp"

namespace smtp_exporter::probes::oauth {

enum class grant_kind : std::uint8_t {
  refresh_token,       // delegated: Gmail, Outlook.com, a Microsoft 365 mailbox
  client_credentials,  // Microsoft Entra app-only SMTP
  jwt_bearer,          // Google service account (urn:ietf:params:oauth:grant-type:jwt-bearer)
};
std::string_view grant_kind_name(grant_kind kind);  // "refresh_token", "client_credentials", "service_account"

struct token_url_parts {
  std::string host;  // without brackets
  std::uint16_t port = 443;
  std::string target;  // path and query, "/" when empty
};
// nullopt with `error` = not_https when `url` is not "https://host[:port][/path]" (scheme compared
// case-insensitively; no user info, no fragment, no space or control byte).
std::optional<token_url_parts> parse_token_url(std::string_view url, token_error& error);

// What one request sends. Secrets stay secret_string until the form is built.
struct token_form {
  grant_kind grant = grant_kind::refresh_token;
  std::string client_id;      // empty for jwt_bearer
  secret_string client_secret;  // empty: a public client (no client_secret member)
  secret_string refresh_token;  // refresh_token grant
  secret_string assertion;      // jwt_bearer grant
  std::string scope;            // empty: not sent
};
// The application/x-www-form-urlencoded body (RFC 6749 sections 4.4, 6; RFC 7523 section 2.1).
// Client credentials go in the body (client_secret_post), which Google and Microsoft accept.
secret_string encode_form(const token_form& form);

// Timing of one request (the token step's latency).
struct token_timing {
  std::chrono::steady_clock::duration total{};
};

// POSTs `form` to `url` and classifies the answer. Errors of the transport are classes with the
// transport's words in `description` (never a secret). `form` must outlive the returned awaitable
// (co_await it at once). `context` must hold the trust store
// (probes/tls/context.hpp make_client_context); verification is enforced here.
boost::asio::awaitable<token_response> request_token(std::string url, const token_form& form,
                                                     boost::asio::ssl::context& context,
                                                     std::chrono::steady_clock::duration timeout,
                                                     token_timing* timing = nullptr);

}  // namespace smtp_exporter::probes::oauth
