#include "probes/tls/context.hpp"

#include <memory>
#include <string_view>
#include <system_error>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "common/tls_files.hpp"
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

// A file that could not be read says why (common/tls_files.hpp); one that was read but did not
// parse says what OpenSSL found.
std::string file_error(std::string_view what, const std::string& file, std::string_view expected,
                       const tls_file_outcome& outcome) {
  const std::string reason = outcome.read_failed ? outcome.reason : openssl_reason(expected);
  if (outcome.read_failed) ERR_clear_error();
  return std::string(what) + " \"" + file + "\": " + reason;
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
  } else if (auto ca = load_ca_file(ctx, options.ca_file); !ca.ok) {
    error = {file::ca_file, file_error("cannot load CA file", options.ca_file, "certificate", ca)};
    return nullptr;
  }
  if (!options.cert_file.empty()) {
    if (auto chain = use_certificate_chain_file(ctx, options.cert_file); !chain.ok) {
      error = {file::cert_file, file_error("cannot load client certificate", options.cert_file,
                                         "certificate", chain)};
      return nullptr;
    }
    bool passphrase_asked = false;
    if (auto key = use_private_key_file(ctx, options.key_file, &passphrase_asked); !key.ok) {
      error = {file::key_file,
               file_error("cannot load client key", options.key_file, "private key", key)};
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
