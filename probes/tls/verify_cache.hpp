// A bounded cache of certificate chains that already verified against one client context's trust
// store, so that a target probed every minute does not rebuild and re-check the signatures of
// the same chain at every run.
//
// Keyed by the exact DER bytes of every certificate the server sent, in order. Only chains that
// verified with no error at all are stored. A hit still checks, at the time of the handshake,
// the validity period of every certificate of the verified chain (trust anchor included, as
// OpenSSL does) and the expected host name or IP address (SSL_set1_host / the IP set on the
// handshake's X509_VERIFY_PARAM). When either check fails, or the parameters ask for anything
// the cache cannot replay (CRLs, a fixed check time, e-mail), OpenSSL's full X509_verify_cert()
// runs, so every error and every reported fact is exactly what it would have been without the
// cache. What a hit skips is chain building, store lookups and the issuers' signature checks:
// pure functions of (sent chain, trust store), and the store is fixed for a context's lifetime
// (a reload builds new contexts, with new caches).
//
// Thread-safety: the cache is owned by the SSL_CTX and guarded by a mutex; handshakes on any
// thread may share it.
#pragma once

#include <cstddef>
#include <cstdint>

#include <openssl/ssl.h>

namespace smtp_exporter::probes {

inline constexpr std::size_t default_verify_cache_entries = 256;

// Makes `ctx` verify server chains through a cache owned by `ctx` (freed with it).
void install_verify_cache(SSL_CTX* ctx, std::size_t max_entries = default_verify_cache_entries);

struct verify_cache_stats {
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;  // full X509_verify_cert() runs
  std::size_t entries = 0;
};
// Zeros when `ctx` has no cache.
verify_cache_stats verify_cache_stats_of(SSL_CTX* ctx);

}  // namespace smtp_exporter::probes
