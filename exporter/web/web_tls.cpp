#include "exporter/web/web_tls.hpp"

#include "common/tls_files.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <string>
#include <vector>

namespace smtp_exporter::exporter {

namespace ssl = boost::asio::ssl;

namespace {

// RequestClientCert and RequireAnyClientCert: a certificate is asked for, never judged.
int accept_any_certificate(int, X509_STORE_CTX*) { return 1; }

// What Asio's error_code said for a failed *_file call: the first error OpenSSL queued.
std::string first_openssl_reason() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  const char* text = code != 0 ? ERR_reason_error_string(code) : nullptr;
  return text != nullptr ? text : "unknown error";
}

}  // namespace

std::shared_ptr<ssl::context> make_web_tls_context(const web_tls_settings& s, std::string& error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  // Through the bounded reader (common/tls_files.hpp): a FIFO or /dev/zero named here is refused
  // at once instead of holding the helper thread that reloads the web config.
  const auto cannot_load = [&](const char* key, const std::string& file,
                               const tls_file_outcome& outcome) {
    error = std::string("tls_server_config.") + key + ": cannot load " + file + ": " +
            (outcome.read_failed ? outcome.reason : first_openssl_reason());
  };
  if (auto chain = use_certificate_chain_file(native, s.cert_file); !chain.ok) {
    cannot_load("cert_file", s.cert_file, chain);
    return nullptr;
  }
  if (auto key = use_private_key_file(native, s.key_file); !key.ok) {
    cannot_load("key_file", s.key_file, key);
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    error = "tls_server_config.key_file: " + s.key_file + " does not match cert_file " + s.cert_file;
    return nullptr;
  }
  if (!s.client_ca_file.empty()) {
    STACK_OF(X509_NAME)* names = nullptr;
    if (auto ca = load_ca_file(native, s.client_ca_file, &names); !ca.ok) {
      cannot_load("client_ca_file", s.client_ca_file, ca);
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
  // OpenSSL keeps the last decrypted record (a request, its Authorization header with it) in its
  // buffer until the next one overwrites it; wipe it once handed over (issue 24, finding 8).
  SSL_CTX_set_options(native, SSL_OP_CLEANSE_PLAINTEXT);
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
