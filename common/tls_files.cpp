#include "common/tls_files.hpp"

#include <cerrno>
#include <memory>
#include <optional>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "common/bounded_read.hpp"

namespace smtp_exporter {
namespace {

struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};

struct pem_file {
  secret_string text;  // a key file holds a secret: wiped when dropped
  std::unique_ptr<BIO, bio_deleter> bio;
};

tls_file_outcome read_failure_outcome(const bounded_read_result& read) {
  tls_file_outcome out;
  out.read_failed = true;
  const bool directory = read.failure == read_failure::read_failed && read.error_number == EISDIR;
  out.reason = directory ? "is a directory" : read.why(max_tls_file_bytes);
  return out;
}

std::optional<pem_file> read_pem(const std::string& path, tls_file_outcome& failure) {
  auto read = read_bounded_file(path, max_tls_file_bytes);
  if (!read.ok()) {
    failure = read_failure_outcome(read);
    return std::nullopt;
  }
  pem_file out{std::move(read.text), nullptr};
  out.bio.reset(BIO_new_mem_buf(out.text.reveal().data(), static_cast<int>(out.text.size())));
  if (!out.bio) {
    failure.read_failed = true;
    failure.reason = "out of memory";
    return std::nullopt;
  }
  return out;
}

int no_passphrase(char*, int, int, void* asked) {
  if (asked != nullptr) *static_cast<bool*>(asked) = true;
  return 0;
}

tls_file_outcome succeeded() {
  tls_file_outcome out;
  out.ok = true;
  return out;
}

}  // namespace

tls_file_outcome load_ca_file(SSL_CTX* ctx, const std::string& path,
                              STACK_OF(X509_NAME)** client_ca_names) {
  tls_file_outcome failure;
  auto pem = read_pem(path, failure);
  if (!pem) return failure;
  STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(pem->bio.get(), nullptr, nullptr, nullptr);
  if (infos == nullptr) return failure;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* names = client_ca_names != nullptr ? sk_X509_NAME_new_null() : nullptr;
  int loaded = 0;
  bool ok = client_ca_names == nullptr || names != nullptr;
  for (int i = 0; ok && i < sk_X509_INFO_num(infos); ++i) {
    const X509_INFO* info = sk_X509_INFO_value(infos, i);
    if (info->x509 != nullptr) {
      ok = X509_STORE_add_cert(store, info->x509) == 1;
      ++loaded;
      if (ok && names != nullptr) {
        X509_NAME* name = X509_NAME_dup(X509_get_subject_name(info->x509));
        ok = name != nullptr && sk_X509_NAME_push(names, name) > 0;
        if (!ok) X509_NAME_free(name);
      }
    }
    if (ok && info->crl != nullptr) {
      ok = X509_STORE_add_crl(store, info->crl) == 1;
      ++loaded;
    }
  }
  sk_X509_INFO_pop_free(infos, X509_INFO_free);
  if (ok && loaded == 0) {
    ERR_raise(ERR_LIB_X509, X509_R_NO_CERTIFICATE_OR_CRL_FOUND);
    ok = false;
  }
  if (ok && names != nullptr && sk_X509_NAME_num(names) == 0) {
    ERR_raise(ERR_LIB_X509, X509_R_NO_CERTIFICATE_OR_CRL_FOUND);
    ok = false;
  }
  if (!ok) {
    if (names != nullptr) sk_X509_NAME_pop_free(names, X509_NAME_free);
    return failure;
  }
  if (client_ca_names != nullptr) *client_ca_names = names;
  return succeeded();
}

tls_file_outcome use_certificate_chain_file(SSL_CTX* ctx, const std::string& path) {
  tls_file_outcome failure;
  auto pem = read_pem(path, failure);
  if (!pem) return failure;
  X509* leaf = PEM_read_bio_X509_AUX(pem->bio.get(), nullptr, no_passphrase, nullptr);
  if (leaf == nullptr) return failure;
  const bool used = SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  if (!used || SSL_CTX_clear_chain_certs(ctx) != 1) return failure;
  while (X509* ca = PEM_read_bio_X509(pem->bio.get(), nullptr, no_passphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
      X509_free(ca);
      return failure;
    }
  }
  // The loop ends on "no start line" at the end of the file: not an error.
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    return succeeded();
  }
  return last == 0 ? succeeded() : failure;
}

tls_file_outcome use_private_key_file(SSL_CTX* ctx, const std::string& path,
                                      bool* passphrase_asked) {
  tls_file_outcome failure;
  auto pem = read_pem(path, failure);
  if (!pem) return failure;
  EVP_PKEY* key = PEM_read_bio_PrivateKey(pem->bio.get(), nullptr, no_passphrase, passphrase_asked);
  const bool loaded = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1;
  EVP_PKEY_free(key);
  return loaded ? succeeded() : failure;
}

}  // namespace smtp_exporter
