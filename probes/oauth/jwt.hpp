// Google service accounts: the key file and the RS256-signed assertion of the JWT bearer grant
// (RFC 7523; Google's "Using OAuth 2.0 for Server to Server Applications").
//
// Thread-safety: pure functions; a service_account_key is a value (const use from any thread).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/secret.hpp"

namespace smtp_exporter::probes::oauth {

// A service-account key file is ~2.4 KiB; anything over this is not one.
inline constexpr std::size_t max_service_account_key_bytes = 64 * 1024;

struct service_account_key {
  std::string client_email;    // the assertion's iss
  secret_string private_key;   // PEM (PKCS#8), as Google writes it
  std::string token_uri;       // the assertion's aud, and where to post it
};

// Parses the JSON of a key file: "type" must be "service_account" when present; client_email,
// private_key and token_uri are required strings. nullopt with `error` naming the missing or
// wrong member (never quoting the key).
std::optional<service_account_key> parse_service_account_key(std::string_view json_text,
                                                             std::string& error);
// Reads `path` with common/bounded_read.hpp (regular file, capped), then parses it. Blocking:
// call off the event loop (at config load). `error` names the file.
std::optional<service_account_key> load_service_account_key(const std::string& path,
                                                            std::string& error);

struct jwt_claims {
  std::string issuer;    // iss: the service account's client_email
  std::string subject;   // sub: the mailbox acted for (domain-wide delegation); empty: none
  std::string audience;  // aud: the token URI
  std::string scope;     // space-separated
  std::chrono::system_clock::time_point issued_at;
  std::chrono::seconds lifetime{3600};  // Google's maximum; exp = iat + lifetime
};

// The claims set as compact JSON, members in a fixed order (tests compare it).
std::string claims_json(const jwt_claims& claims);

// header.claims.signature, base64url without padding, RS256 (RSASSA-PKCS1-v1_5 with SHA-256)
// over "header.claims" with EVP_DigestSign. nullopt and `error` when the key is not an RSA
// private key in PEM or signing fails.
std::optional<secret_string> sign_rs256_assertion(const jwt_claims& claims,
                                                  std::string_view private_key_pem,
                                                  std::string& error);

}  // namespace smtp_exporter::probes::oauth
