// Client TLS contexts: the trust store (system or a CA file) and an optional client certificate.
// Built at config load, shared by every session that uses the same files.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

namespace smtp_exporter::probes {

struct tls_context_options {
  std::string ca_file;    // empty: the system CA store
  std::string cert_file;  // client certificate (PEM), optional
  std::string key_file;
  bool operator==(const tls_context_options&) const = default;
};

// Returns nullptr and sets `error` when a file cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_client_context(const tls_context_options& options,
                                                               std::string& error);

// Which file a context could not be made from, and why, e.g.
// {ca_file, "cannot load CA file \"/etc/x.pem\": No such file or directory"}.
struct tls_context_error {
  enum class file : std::uint8_t { ca_file, cert_file, key_file };
  file failed = file::ca_file;
  std::string message;
};
std::shared_ptr<boost::asio::ssl::context> make_client_context(const tls_context_options& options,
                                                               tls_context_error& error);

// "TLS1.2" -> TLS1_2_VERSION; 0 for an unknown name.
int tls_version_from_name(const std::string& name);

}  // namespace smtp_exporter::probes
