// The web server's TLS context, built from the parsed web config (config/web_config.hpp): the one
// part of --web.config.file that needs OpenSSL's SSL library and the certificate files.
//
// Thread-safety: reentrant; the returned context is shared by the server's connections.
#pragma once

#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "config/web_config.hpp"

namespace smtp_exporter::exporter {

// The web layer speaks of the parsed web config constantly; its types keep their short names here.
using config::client_auth;
using config::web_config;
using config::web_config_result;
using config::web_tls_settings;

// A server context for `settings`: certificate chain and key, client CA, versions, ciphers,
// groups, client-certificate policy. nullptr with `error` set (naming the file) on failure.
std::shared_ptr<boost::asio::ssl::context> make_web_tls_context(const web_tls_settings& settings,
                                                                std::string& error);

}  // namespace smtp_exporter::exporter
