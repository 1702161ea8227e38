#include "probes/tls/context.hpp"

#include <cerrno>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/bounded_read.hpp"
#include "probes/tls/verify_cache.hpp"

namespace smtp_exporter::probes {

namespace asio = boost::asio;

namespace {

// OpenSSL's queue holds the library's story of a failure, cause first. A system error becomes its
// errno text ("No such file or directory"), the usual content errors plain words, anything else
// the first entry's reason.
std::string openssl_reason(std::string_view expected) {
  std::string reason;
  bool no_pem = false, mismatch = false;
  while (const unsigned long code = ERR_get_error()) {
    const int lib = ERR_GET_LIB(code), why = ERR_GET_REASON(code);
    if (ERR_SYSTEM_ERROR(code)) {
      ERR_clear_error();
      return std::generic_category().message(why);
    }
    no_pem |= (lib == ERR_LIB_PEM && why == PEM_R_NO_START_LINE) ||
              (lib == ERR_LIB_X509 && why == X509_R_NO_CERTIFICATE_OR_CRL_FOUND) ||
              (lib == ERR_LIB_OSSL_DECODER && why == ERR_R_UNSUPPORTED);  // no decodable key
    mismatch |= lib == ERR_LIB_X509 && why == X509_R_KEY_VALUES_MISMATCH;
    if (reason.empty()) {
      const char* text = ERR_reason_error_string(code);
      reason = text != nullptr ? text : "error " + std::to_string(code);
    }
  }
  if (mismatch) return "the key does not match the client certificate";
  if (no_pem) return "no PEM " + std::string(expected) + " in it";
  return reason.empty() ? "unknown error" : reason;
}

std::string file_error(std::string_view what, const std::string& file,
                       std::string_view expected) {
  std::error_code ec;
  const bool directory = std::filesystem::is_directory(file, ec);
  auto reason = openssl_reason(expected);
  return std::string(what) + " \"" + file + "\": " + (directory ? "is a directory" : reason);
}

// A key with a passphrase must fail to load, not make OpenSSL prompt on the terminal.
int no_passphrase(char*, int, int, void* asked) {
  if (asked != nullptr) *static_cast<bool*>(asked) = true;
  return 0;
}

// A CA bundle of every public root is ~220 KB; a PEM file over this is not one.
constexpr std::size_t max_pem_file_bytes = 4 * 1024 * 1024;

struct bio_deleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

// The file's bytes through the one bounded reader (common/bounded_read.hpp): a FIFO, /dev/zero or
// a directory given as a TLS file is refused at once, where OpenSSL's own file reading would block
// or read without end. OpenSSL then parses from memory. `error` is set on failure.
struct pem_file {
  secret_string text;  // a key file holds a secret: wiped when dropped
  bio_ptr bio;
};
std::optional<pem_file> read_pem_file(std::string_view what, const std::string& file,
                                      std::string& error) {
  auto read = read_bounded_file(file, max_pem_file_bytes);
  if (!read.ok()) {
    const bool directory =
        read.failure == read_failure::read_failed && read.error_number == EISDIR;
    error = std::string(what) + " \"" + file + "\": " +
            (directory ? "is a directory" : read.why(max_pem_file_bytes));
    return std::nullopt;
  }
  pem_file out{std::move(read.text), nullptr};
  out.bio.reset(BIO_new_mem_buf(out.text.reveal().data(), static_cast<int>(out.text.size())));
  if (!out.bio) {
    error = std::string(what) + " \"" + file + "\": out of memory";
    return std::nullopt;
  }
  return out;
}

// SSL_CTX_load_verify_locations, from memory: every certificate and CRL of the file.
bool load_ca_pem(SSL_CTX* ctx, BIO* bio) {
  STACK_OF(X509_INFO)* infos = PEM_X509_INFO_read_bio(bio, nullptr, nullptr, nullptr);
  if (infos == nullptr) return false;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int loaded = 0;
  bool ok = true;
  for (int i = 0; i < sk_X509_INFO_num(infos) && ok; ++i) {
    X509_INFO* info = sk_X509_INFO_value(infos, i);
    if (info->x509 != nullptr) {
      ok = X509_STORE_add_cert(store, info->x509) == 1;
      ++loaded;
    }
    if (info->crl != nullptr) {
      ok = ok && X509_STORE_add_crl(store, info->crl) == 1;
      ++loaded;
    }
  }
  sk_X509_INFO_pop_free(infos, X509_INFO_free);
  if (ok && loaded == 0) {
    ERR_raise(ERR_LIB_X509, X509_R_NO_CERTIFICATE_OR_CRL_FOUND);
    return false;
  }
  return ok;
}

// SSL_CTX_use_certificate_chain_file, from memory: the leaf, then the chain to send.
bool use_certificate_chain_pem(SSL_CTX* ctx, BIO* bio) {
  X509* leaf = PEM_read_bio_X509_AUX(bio, nullptr, no_passphrase, nullptr);
  if (leaf == nullptr) return false;
  const bool used = SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  if (!used || SSL_CTX_clear_chain_certs(ctx) != 1) return false;
  while (X509* ca = PEM_read_bio_X509(bio, nullptr, no_passphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {
      X509_free(ca);
      return false;
    }
  }
  // The loop ends on "no start line" at the end of the file: not an error.
  const unsigned long last = ERR_peek_last_error();
  if (ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
    ERR_clear_error();
    return true;
  }
  return last == 0;
}

}  // namespace

std::shared_ptr<asio::ssl::context> make_client_context(const tls_context_options& options,
                                                        tls_context_error& error) {
  using file = tls_context_error::file;
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      error = {file::ca_file, "cannot load the system CA store: " + openssl_reason("certificate")};
      return nullptr;
    }
  } else {
    std::string read_error;
    auto pem = read_pem_file("cannot load CA file", options.ca_file, read_error);
    if (!pem) {
      error = {file::ca_file, std::move(read_error)};
      return nullptr;
    }
    if (!load_ca_pem(ctx, pem->bio.get())) {
      error = {file::ca_file, file_error("cannot load CA file", options.ca_file, "certificate")};
      return nullptr;
    }
  }
  if (!options.cert_file.empty()) {
    std::string read_error;
    auto chain = read_pem_file("cannot load client certificate", options.cert_file, read_error);
    if (!chain) {
      error = {file::cert_file, std::move(read_error)};
      return nullptr;
    }
    if (!use_certificate_chain_pem(ctx, chain->bio.get())) {
      error = {file::cert_file, file_error("cannot load client certificate", options.cert_file,
                                         "certificate")};
      return nullptr;
    }
    auto key_pem = read_pem_file("cannot load client key", options.key_file, read_error);
    if (!key_pem) {
      error = {file::key_file, std::move(read_error)};
      return nullptr;
    }
    bool passphrase_asked = false;
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_pem->bio.get(), nullptr, no_passphrase,
                                            &passphrase_asked);
    const bool loaded = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1;
    EVP_PKEY_free(key);
    if (!loaded) {
      error = {file::key_file, file_error("cannot load client key", options.key_file, "private key")};
      if (passphrase_asked) {
        error.message = "cannot load client key \"" + options.key_file +
                        "\": it is encrypted; give the key without a passphrase";
      }
      return nullptr;
    }
  }
  // Probes are one-shot: a session cache would only hide the handshake the probe is there to time.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // Not a session cache: the handshake still happens in full; only re-verifying a chain already
  // verified against this trust store is skipped (expiry and host name are checked every time).
  install_verify_cache(ctx);
  return context;
}

std::shared_ptr<asio::ssl::context> make_client_context(const tls_context_options& options,
                                                        std::string& error) {
  tls_context_error failure;
  auto context = make_client_context(options, failure);
  if (!context) error = std::move(failure.message);
  return context;
}

int tls_version_from_name(const std::string& name) {
  if (name == "TLS1.0") return TLS1_VERSION;
  if (name == "TLS1.1") return TLS1_1_VERSION;
  if (name == "TLS1.2") return TLS1_2_VERSION;
  if (name == "TLS1.3") return TLS1_3_VERSION;
  return 0;
}

}  // namespace smtp_exporter::probes
