#include "probes/oauth/token_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <memory>

#include "common/host_port.hpp"
#include "common/https_url.hpp"
#include "common/text_escape.hpp"

namespace smtp_exporter::probes::oauth {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr std::size_t max_header_bytes = 16 * 1024;

// The sockets of one exchange and the watchdog that closes them at the deadline: closing aborts
// whatever is pending (resolve, connect, TLS, HTTP) the same way. Shared with the timer's handler,
// which may run after the coroutine has finished.
struct exchange : std::enable_shared_from_this<exchange> {
  exchange(const asio::any_io_executor& executor, asio::ssl::context& context)
      : resolver(executor), stream(executor, context), timer(executor) {}

  void arm(std::chrono::steady_clock::duration timeout) {
    timer.expires_after(timeout);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec) return;
      self->expired = true;
      self->resolver.cancel();
      error_code ignored;
      self->stream.lowest_layer().close(ignored);
    });
  }
  void finish() {
    timer.cancel();
    error_code ignored;
    stream.lowest_layer().close(ignored);
  }

  tcp::resolver resolver;
  asio::ssl::stream<tcp::socket> stream;
  asio::steady_timer timer;
  bool expired = false;
};

token_response transport_failure(token_error error, std::string description) {
  token_response out;
  out.error = error;
  out.description = std::move(description);
  return out;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string handshake_words(asio::ssl::stream<tcp::socket>& stream, const error_code& ec) {
  const long verify = SSL_get_verify_result(stream.native_handle());
  if (verify != X509_V_OK) {
    return std::string("TLS handshake: certificate not trusted: ") +
           X509_verify_cert_error_string(verify);
  }
  return "TLS handshake: " + ec.message();
}

void append_pair(std::string& out, std::string_view name, std::string_view value) {
  if (!out.empty()) out += '&';
  out += name;
  out += '=';
  std::string encoded = url_encode(value);
  out += encoded;
  cleanse(encoded);
}

}  // namespace

std::string_view grant_kind_name(grant_kind kind) {
  switch (kind) {
    case grant_kind::refresh_token: return "refresh_token";
    case grant_kind::client_credentials: return "client_credentials";
    case grant_kind::jwt_bearer: return "service_account";
  }
  return "unknown";
}

std::optional<token_url_parts> parse_token_url(std::string_view url, token_error& error) {
  // One parser for config/ and this client (common/https_url.hpp), so a token_url that loads is
  // one this client accepts.
  auto parts = parse_https_url(url);
  if (!parts) {
    error = token_error::not_https;
    return std::nullopt;
  }
  error = token_error::none;
  return token_url_parts{std::move(parts->host), parts->port, std::move(parts->target)};
}

secret_string encode_form(const token_form& form) {
  std::string body;
  switch (form.grant) {
    case grant_kind::refresh_token:
      append_pair(body, "grant_type", "refresh_token");
      append_pair(body, "refresh_token", form.refresh_token.reveal());
      break;
    case grant_kind::client_credentials:
      append_pair(body, "grant_type", "client_credentials");
      break;
    case grant_kind::jwt_bearer:
      append_pair(body, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
      append_pair(body, "assertion", form.assertion.reveal());
      break;
  }
  if (!form.client_id.empty()) append_pair(body, "client_id", form.client_id);
  if (!form.client_secret.empty()) append_pair(body, "client_secret", form.client_secret.reveal());
  if (!form.scope.empty()) append_pair(body, "scope", form.scope);
  return secret_string(std::move(body));
}

asio::awaitable<token_response> request_token(std::string url, const token_form& form,
                                              asio::ssl::context& context,
                                              std::chrono::steady_clock::duration timeout,
                                              token_timing* timing) {
  const auto started = std::chrono::steady_clock::now();
  token_error url_error = token_error::none;
  auto parts = parse_token_url(url, url_error);
  if (!parts) {
    co_return transport_failure(token_error::not_https,
                                "the token URL is not https://host[:port]/path");
  }
  auto ex = std::make_shared<exchange>(co_await asio::this_coro::executor, context);
  ex->arm(timeout);
  auto result = co_await [&]() -> asio::awaitable<token_response> {
    error_code ec;
    auto endpoints = co_await ex->resolver.async_resolve(
        parts->host, std::to_string(parts->port), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return transport_failure(ex->expired ? token_error::timeout : token_error::unreachable,
                                        "resolve " + parts->host + ": " + ec.message());
    co_await asio::async_connect(ex->stream.lowest_layer(), endpoints,
                                 asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return transport_failure(ex->expired ? token_error::timeout : token_error::unreachable,
                                        "connect " + host_port(parts->host, parts->port) + ": " +
                                            ec.message());
    if (!is_ip_literal(parts->host)) {
      SSL_set_tlsext_host_name(ex->stream.native_handle(), parts->host.c_str());
    }
    ex->stream.set_verify_mode(asio::ssl::verify_peer);
    ex->stream.set_verify_callback(asio::ssl::host_name_verification(parts->host));
    co_await ex->stream.async_handshake(asio::ssl::stream_base::client,
                                        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return transport_failure(ex->expired ? token_error::timeout : token_error::unreachable,
                                        handshake_words(ex->stream, ec));

    http::request<http::string_body> request{http::verb::post, parts->target, 11};
    request.set(http::field::host, parts->port == 443 ? parts->host
                                                      : host_port(parts->host, parts->port));
    request.set(http::field::content_type, "application/x-www-form-urlencoded");
    request.set(http::field::accept, "application/json");
    request.set(http::field::user_agent, "smtp_exporter");
    request.set(http::field::connection, "close");
    const secret_string body = encode_form(form);
    request.body().assign(body.reveal());
    request.prepare_payload();
    co_await http::async_write(ex->stream, request, asio::redirect_error(asio::use_awaitable, ec));
    cleanse(request.body());
    if (ec) co_return transport_failure(ex->expired ? token_error::timeout : token_error::unreachable,
                                        "send: " + ec.message());

    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(max_header_bytes);
    parser.body_limit(max_token_body_bytes);
    co_await http::async_read(ex->stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec == http::error::body_limit) {
      token_response out = transport_failure(
          token_error::body_too_large,
          "the answer is larger than " + std::to_string(max_token_body_bytes) + " bytes");
      if (parser.is_header_done()) out.http_status = static_cast<int>(parser.get().result_int());
      co_return out;
    }
    if (ec) {
      const bool protocol =
          ec.category() == boost::system::error_code(http::error::bad_target).category();
      co_return transport_failure(ex->expired ? token_error::timeout
                                  : protocol  ? token_error::malformed_response
                                              : token_error::unreachable,
                                  (protocol ? "not an HTTP answer: " : "read: ") + ec.message());
    }
    auto& response = parser.get();
    token_response out =
        parse_token_response(static_cast<int>(response.result_int()), response.body(),
                             {form.client_secret.reveal(), form.refresh_token.reveal(),
                              form.assertion.reveal()});
    cleanse(response.body());
    // The read buffer held the answer too (tokens): all of its storage is wiped before it is freed.
    buffer.consume(buffer.size());
    auto storage = buffer.prepare(buffer.capacity());
    OPENSSL_cleanse(storage.data(), storage.size());
    co_return out;
  }();
  ex->finish();
  if (timing != nullptr) timing->total = std::chrono::steady_clock::now() - started;
  co_return result;
}

}  // namespace smtp_exporter::probes::oauth
