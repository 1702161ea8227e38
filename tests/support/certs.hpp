// Test support: X.509 certificates made with the OpenSSL 3 C API, so that tests control exact
// validity times (whole seconds), names and chains. EC P-256 keys, SHA-256 signatures.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace smtp_test {

namespace detail {
struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
}  // namespace detail

// An EC P-256 key pair. Copies share the same EVP_PKEY (reference counted).
struct key_pair {
  std::unique_ptr<EVP_PKEY, detail::pkey_free> pkey;

  key_pair() = default;
  key_pair(const key_pair& other);
  key_pair& operator=(const key_pair& other);
  key_pair(key_pair&&) noexcept = default;
  key_pair& operator=(key_pair&&) noexcept = default;

  EVP_PKEY* get() const { return pkey.get(); }
  std::string private_pem() const;  // PKCS#8, unencrypted
  std::string public_pem() const;   // SubjectPublicKeyInfo
};

// A signed certificate. not_before/not_after are read back from the encoded certificate.
struct certificate {
  std::unique_ptr<X509, detail::x509_free> x509;
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  std::string subject_cn;

  certificate() = default;
  certificate(const certificate& other);
  certificate& operator=(const certificate& other);
  certificate(certificate&&) noexcept = default;
  certificate& operator=(certificate&&) noexcept = default;

  X509* get() const { return x509.get(); }
  std::string pem() const;
};

struct cert_spec {
  std::string common_name;                // subject CN; empty: no CN
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries ("127.0.0.1", "::1")
  std::time_t not_before = 0;
  std::time_t not_after = 0;
  bool is_ca = false;
  bool client_auth = false;  // leaves: clientAuth in extendedKeyUsage too (TLS client certificates)
};

key_pair make_key();
// An RSA key pair, 2048 bits: service-account keys (RS256) are RSA.
key_pair make_rsa_key();

// Signs `spec` for `subject_key` with `issuer_key`. `issuer` nullptr: self-signed (then
// issuer_key must be subject_key). Extensions: basicConstraints (critical; CA:TRUE for CAs),
// keyUsage (critical; keyCertSign+cRLSign for CAs, digitalSignature for leaves), extendedKeyUsage
// serverAuth for leaves, subjectAltName when names are given, subject and authority key
// identifiers. The serial number is random (159 bits). Throws std::runtime_error on failure.
certificate make_certificate(const cert_spec& spec, const key_pair& subject_key,
                             const certificate* issuer, const key_pair& issuer_key);

// PEM files: write_pem(path, {&leaf, &intermediate}) writes a chain, leaf first.
// write_key writes the private key (PKCS#8), mode 0600.
void write_pem(const std::filesystem::path& path, const std::vector<const certificate*>& certs);
void write_key(const std::filesystem::path& path, const key_pair& key);

// Seconds since the epoch of an ASN1_TIME (UTCTime or GeneralizedTime).
std::time_t to_time_t(const ASN1_TIME* t);

// A small PKI in a directory: root CA -> intermediate CA -> leaves, plus a self-signed leaf.
//
// Files: root.pem (the trust anchor, for ca_file), intermediate.pem, and for each leaf
// <name>.chain.pem (leaf + intermediate; self_signed: the leaf alone) and <name>.key.pem.
// All times derive from `now` (whole seconds): tests can assert exact timestamps.
struct test_pki {
  struct leaf {
    std::string name;
    certificate cert;
    key_pair key;
    std::filesystem::path chain_file;
    std::filesystem::path key_file;
  };

  static constexpr std::time_t day = 24 * 60 * 60;

  // Builds in a fresh directory under the temp dir, removed on destruction.
  explicit test_pki(std::time_t now = std::time(nullptr));
  // Builds in `dir` (created if missing, left in place).
  explicit test_pki(std::filesystem::path dir, std::time_t now = std::time(nullptr));
  ~test_pki();
  test_pki(const test_pki&) = delete;
  test_pki& operator=(const test_pki&) = delete;

  std::time_t now;
  std::filesystem::path dir;
  std::filesystem::path root_file;          // root.pem
  std::filesystem::path intermediate_file;  // intermediate.pem

  key_pair root_key;
  certificate root;  // CN "smtp_exporter test root CA", now-365d .. now+3650d
  key_pair intermediate_key;
  certificate intermediate;  // CN "smtp_exporter test intermediate CA", now-365d .. now+1825d

  // SAN mx.test, localhost, IP 127.0.0.1 (CN mx.test) unless said otherwise.
  leaf valid;          // now-1d .. now+90d
  leaf expired;        // now-30d .. now-1d
  leaf not_yet_valid;  // now+1d .. now+30d
  leaf wrong_host;     // SAN other.example only (CN other.example), now-1d .. now+90d
  leaf expiring_soon;  // now-1d .. now+5d
  leaf self_signed;    // self-signed, now-1d .. now+90d

  // The leaf called `name` ("valid", "expired", ...); throws std::out_of_range otherwise.
  const leaf& get(std::string_view name) const;
  std::vector<const leaf*> leaves() const;

 private:
  void build();
  bool owns_dir_ = false;
};

}  // namespace smtp_test
