#include "probes/tls_context.hpp"

#include "probes/tls_verify_cache.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace smtp_exporter::probes {

namespace asio = boost::asio;

namespace {
std::string openssl_error(const std::string& what, const std::string& file) {
  unsigned long code = ERR_get_error();
  char text[256] = "unknown error";
  if (code != 0) ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return what + " " + file + ": " + text;
}
}  // namespace

std::shared_ptr<asio::ssl::context> make_client_context(const tls_context_options& options,
                                                        std::string& error) {
  auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  ERR_clear_error();
  if (options.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      error = openssl_error("cannot load", "the system CA store");
      return nullptr;
    }
  } else if (SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr) != 1) {
    error = openssl_error("cannot load CA file", options.ca_file);
    return nullptr;
  }
  if (!options.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, options.cert_file.c_str()) != 1) {
      error = openssl_error("cannot load client certificate", options.cert_file);
      return nullptr;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, options.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      error = openssl_error("cannot load client key", options.key_file);
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

int tls_version_from_name(const std::string& name) {
  if (name == "TLS1.0") return TLS1_VERSION;
  if (name == "TLS1.1") return TLS1_1_VERSION;
  if (name == "TLS1.2") return TLS1_2_VERSION;
  if (name == "TLS1.3") return TLS1_3_VERSION;
  return 0;
}

}  // namespace smtp_exporter::probes
