// TLS files (CA bundles, certificate chains, private keys) loaded into an SSL_CTX through the one
// bounded reader (common/bounded_read.hpp), then parsed from memory. OpenSSL's own *_file
// functions wait forever on a FIFO and read /dev/zero without end; these refuse both at once.
// Used by the probes' client contexts (probes/tls/context.cpp) and the web port's server context
// (exporter/web/web_tls.cpp).
//
// Each returns an empty string on success. On a read failure it returns the reason, without the
// path ("No such file or directory", "not a regular file", "is a directory", "larger than N
// bytes") and sets `read_failed`; on a content failure it returns "" in `reason` with
// `read_failed` false, leaving OpenSSL's error queue for the caller to word as it always has.
//
// Thread-safety: as the SSL_CTX: one thread at a time per context. Blocking file I/O: call off
// the event loop.
#pragma once

#include <string>

#include <openssl/ssl.h>

namespace smtp_exporter {

// A CA bundle of every public root is ~220 KB; a PEM file over this is not one.
inline constexpr std::size_t max_tls_file_bytes = 4 * 1024 * 1024;

struct tls_file_outcome {
  bool ok = false;
  bool read_failed = false;
  std::string reason;  // read failures only
};

// SSL_CTX_load_verify_locations(ctx, path, nullptr), from memory: every certificate and CRL.
// With `client_ca_names`, also the subjects of the certificates (SSL_load_client_CA_file), which
// the caller owns; none found is a content failure (X509_R_NO_CERTIFICATE_OR_CRL_FOUND queued).
tls_file_outcome load_ca_file(SSL_CTX* ctx, const std::string& path,
                              STACK_OF(X509_NAME)** client_ca_names = nullptr);

// SSL_CTX_use_certificate_chain_file, from memory: the leaf, then the chain to send.
tls_file_outcome use_certificate_chain_file(SSL_CTX* ctx, const std::string& path);

// SSL_CTX_use_PrivateKey_file(PEM), from memory. An encrypted key fails to load (no prompt on
// the terminal) and sets `*passphrase_asked`.
tls_file_outcome use_private_key_file(SSL_CTX* ctx, const std::string& path,
                                      bool* passphrase_asked = nullptr);

}  // namespace smtp_exporter
