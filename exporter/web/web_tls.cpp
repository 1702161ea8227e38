#include "exporter/web/web_tls.hpp"

#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace smtp_exporter::exporter {

namespace ssl = boost::asio::ssl;

namespace {

// RequestClientCert and RequireAnyClientCert: a certificate is asked for, never judged.
int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

}  // namespace

std::shared_ptr<ssl::context> make_web_tls_context(const web_tls_settings& s, std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  ctx->use_certificate_chain_file(s.cert_file, ec);
  if (ec) {
    error = "tls_server_config.cert_file: cannot load " + s.cert_file + ": " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(s.key_file, ssl::context::pem, ec);
  if (ec) {
    error = "tls_server_config.key_file: cannot load " + s.key_file + ": " + ec.message();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = "tls_server_config.key_file: " + s.key_file + " does not match cert_file " + s.cert_file;
    return nullptr;
  }
  if (!s.client_ca_file.empty()) {
    ctx->load_verify_file(s.client_ca_file, ec);
    STACK_OF(X509_NAME)* names = ec ? nullptr : SSL_load_client_CA_file(s.client_ca_file.c_str());
    if (names == nullptr) {
      error = "tls_server_config.client_ca_file: cannot load " + s.client_ca_file +
              (ec ? ": " + ec.message() : std::string(": no certificate in it"));
      return nullptr;
    }
    SSL_CTX_set_client_CA_list(native, names);  // takes ownership
  }
  SSL_CTX_set_min_proto_version(native, s.min_version);
  SSL_CTX_set_max_proto_version(native, s.max_version);
  // Each list is handed to OpenSSL colon-separated; one it supports none of is an error.
  const auto set_list = [&](const std::vector<std::string>& names, const char* key,
                            auto&& apply) {
    if (names.empty()) return true;
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ":") + n;
    if (apply(list.c_str()) == 1) return true;
    error = std::string("tls_server_config.") + key + ": OpenSSL supports none of " + list;
    return false;
  };
  if (!set_list(s.cipher_suites, "cipher_suites",
                [&](const char* l) { return SSL_CTX_set_cipher_list(native, l); }) ||
      !set_list(s.tls13_cipher_suites, "cipher_suites",
                [&](const char* l) { return SSL_CTX_set_ciphersuites(native, l); }) ||
      !set_list(s.curve_preferences, "curve_preferences",
                [&](const char* l) { return static_cast<int>(SSL_CTX_set1_groups_list(native, l)); })) {
    return nullptr;
  }
  if (s.prefer_server_cipher_suites) SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE);
  switch (s.client_auth_type) {
    case client_auth::none: SSL_CTX_set_verify(native, SSL_VERIFY_NONE, nullptr); break;
    case client_auth::request:
      SSL_CTX_set_verify(native, SSL_VERIFY_PEER, accept_any_certificate);
      break;
    case client_auth::require_any:
      SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                         accept_any_certificate);
      break;
    case client_auth::verify_if_given: SSL_CTX_set_verify(native, SSL_VERIFY_PEER, nullptr); break;
    case client_auth::require_and_verify:
      SSL_CTX_set_verify(native, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
      break;
  }
  // With client certificates OpenSSL refuses to resume a session that has no id context.
  static const unsigned char session_id[] = "smtp_exporter";
  SSL_CTX_set_session_id_context(native, session_id, sizeof session_id - 1);
  return ctx;
}

}  // namespace smtp_exporter::exporter
