// What a TLS handshake showed: protocol, cipher, every certificate the server sent, verification
// and host name results, OCSP stapling. Collected whether or not verification passed: the cases
// where verification fails are exactly the ones an operator needs the facts for.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/ssl.h>

#include "probes/core/result.hpp"

namespace smtp_exporter::probes {

// Verification errors OpenSSL reported during the handshake (every one, not just the first).
struct verify_errors {
  std::vector<int> codes;
};

// Prepares `ssl` before the handshake: records every verification error into `errors` instead of
// failing the handshake, and asks for a stapled OCSP response.
void prepare_tls_client(SSL* ssl, verify_errors* errors);

// The errors recorded so far for `ssl` by prepare_tls_client's callback; nullptr if not prepared.
const verify_errors* recorded_verify_errors(SSL* ssl);

// Reads the facts after a successful handshake. `expected_name` is the SNI name or IP checked.
tls_facts collect_tls_facts(SSL* ssl, const verify_errors& errors, const std::string& expected_name);

// Certificate text made safe for a Prometheus label value: valid UTF-8 (a malformed byte becomes
// '?'), no control characters, at most `max_bytes`, never cut inside a character. An exposition
// with invalid UTF-8 is rejected whole by Prometheus, so one odd certificate would blank every
// target's metrics.
std::string label_text(std::string_view utf8, std::size_t max_bytes);

// Parses a stapled OCSP response (DER) into facts.ocsp_*: stapled, status of the first single
// response, nextUpdate. The response's signature is not checked.
void read_ocsp_response(const unsigned char* der, long length, tls_facts& facts);

// reason_for_verify_errors() is in probes/core/verdicts.hpp, with every other reason decision.

}  // namespace smtp_exporter::probes
