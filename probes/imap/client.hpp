// An IMAP client for the delivery probe (issue 21), on the caller's event loop: libcurl's IMAP
// driven through its multi-socket interface on Asio. libcurl opens its sockets through us (Asio
// TCP sockets), tells us which to wait on (Asio async_wait) and when to wake it (one steady_timer);
// no thread is started per request and nothing blocks the loop.
//
// One imap_client is one account on one server, meant for one probe run (make one per run, drop
// it at the end). Each operation is one libcurl transfer; libcurl keeps the logged-in connection
// in its cache, so a LIST, SEARCHes, a FETCH and a STORE in a row connect and log in once. The
// connections stay open until the client is destroyed; the destructor shuts their sockets down
// before libcurl's cleanup, whose LOGOUT would otherwise wait (blocking) on a slow server. Each operation has its own deadline (libcurl's CURLOPT_TIMEOUT_MS
// from the time left, and a backstop timer of ours a little later).
//
// What libcurl's IMAP does not do, and how this client does without:
// - no IDLE: the caller polls (search_header at its own cadence);
// - a custom command's literals are not handed over, so header fields are fetched with libcurl's
//   own "UID FETCH n BODY[HEADER.FIELDS (...)]" (URL ;UID=n;SECTION=...), which reads the literal
//   (and sets \Seen, which does not matter for a message about to be deleted); a LIST line whose
//   mailbox name comes as a literal is skipped (counted);
// - no capability query: EXPUNGE is always UID EXPUNGE (UIDPLUS, RFC 4315), so another message
//   the user flagged \Deleted is never expunged; a server without UIDPLUS gets protocol_error.
// - a server that is not IMAP (an SMTP banner on port 143) is not refused by libcurl, which waits
//   for "* OK" until the deadline: the error is then protocol_error quoting what it said;
// - a refused SELECT (no such mailbox) comes back as CURLE_LOGIN_DENIED, like a refused login:
//   libcurl's message ("Select failed") tells them apart, so it is protocol_error, not
//   auth_rejected (tests/integration/imap_client_test.cpp holds both to it).
//
// Secrets: the password and the bearer token go to libcurl (which copies them, unwiped, for the
// life of the connection); no error text carries them (describe() texts come from libcurl's
// error codes and our own words, and are scrubbed of both before they are returned).
//
// Thread-safety: none. An imap_client and every call on it belong to one executor that does not
// run handlers concurrently (the exporter's single-threaded io_context or a strand).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include "common/secret.hpp"
#include "probes/imap/responses.hpp"

namespace smtp_exporter::probes::oauth {
class token_source;
}

namespace smtp_exporter::probes::imap {

// What went wrong, in one word each (the delivery probe's imap_* reasons are made from these).
enum class imap_error : std::uint8_t {
  none,
  connect_failed,   // TCP refused or unreachable (or the name did not resolve)
  connect_timeout,  // the deadline passed before TCP connected
  tls_certificate,  // the server's certificate failed verification (chain, expiry or host name)
  tls_failed,       // TLS could not start: handshake failed, or STARTTLS not offered or refused
  auth_rejected,    // the server refused the login (password or token)
  token_failed,     // no bearer token to log in with (the OAuth token source failed)
  protocol_error,   // the server said NO/BAD or something unreadable; or an answer over the caps
  timeout,          // connected, but the deadline passed before the answer was complete
};
inline constexpr std::size_t imap_error_count = 9;
std::string_view imap_error_name(imap_error error);  // "connect_failed", ...

struct imap_status {
  imap_error error = imap_error::none;
  std::string detail;  // for a person: safe to log and show (no secret)
  bool ok() const { return error == imap_error::none; }
};

template <typename T>
struct imap_result {
  imap_status status;
  T value{};
  bool ok() const { return status.ok(); }
};

enum class tls_mode : std::uint8_t {
  implicit,  // TLS from the first byte (imaps, 993)
  starttls,  // plain connect, then STARTTLS, required (143)
};

enum class sasl_bearer : std::uint8_t { xoauth2, oauthbearer };

struct imap_options {
  std::string host;  // for SNI and the certificate's name check; also the URL's host
  std::uint16_t port = 993;
  // Connect here (an IPv4 or IPv6 literal) instead of resolving `host`: the exporter resolves on
  // its own loop (probes/dns). Empty: libcurl resolves, on a thread of its own per lookup.
  std::string address;
  tls_mode tls = tls_mode::implicit;
  // The trust store (probes/tls make_client_context: ca_file or the system store). Required.
  std::shared_ptr<boost::asio::ssl::context> tls_context;
  std::string username;
  // Password login (AUTHENTICATE PLAIN/LOGIN or LOGIN, as libcurl picks), unless token_source is
  // set: then SASL XOAUTH2 or OAUTHBEARER with a bearer token from it.
  std::shared_ptr<const secret_string> password;
  std::shared_ptr<oauth::token_source> token_source;
  sasl_bearer bearer_mechanism = sasl_bearer::xoauth2;
  // Caps on what one answer may bring.
  std::size_t max_response_bytes = 64 * 1024;
  std::size_t max_results = 1000;
};

// One message's fetched header fields (parsed) and the raw block's size.
struct fetched_headers {
  header_parse headers;
  std::size_t bytes = 0;
};

class imap_client {
 public:
  imap_client(boost::asio::any_io_executor executor, imap_options options);
  // Closes every connection without waiting for the server (no LOGOUT round trip).
  ~imap_client();
  imap_client(const imap_client&) = delete;
  imap_client& operator=(const imap_client&) = delete;

  using clock = std::chrono::steady_clock;

  // LIST "" "*": every mailbox with its flags.
  boost::asio::awaitable<imap_result<std::vector<mailbox_info>>> list(clock::time_point deadline);
  // UID SEARCH HEADER name "value" in `mailbox`: the UIDs found (at most max_results). An empty
  // value matches every message that has the field.
  boost::asio::awaitable<imap_result<std::vector<std::uint32_t>>> search_header(
      const std::string& mailbox, const std::string& name, const std::string& value,
      clock::time_point deadline);
  // Messages in `mailbox` with the field `name` (any value) that arrived (INTERNALDATE) before
  // `older_than`: the probe's leftovers after a crash.
  boost::asio::awaitable<imap_result<std::vector<std::uint32_t>>> search_stale(
      const std::string& mailbox, const std::string& name,
      std::chrono::system_clock::time_point older_than, clock::time_point deadline);
  // UID FETCH uid BODY[HEADER.FIELDS (fields)]: only those header fields.
  boost::asio::awaitable<imap_result<fetched_headers>> fetch_headers(
      const std::string& mailbox, std::uint32_t uid, const std::vector<std::string>& fields,
      clock::time_point deadline);
  // UID STORE uids +FLAGS.SILENT (\Deleted), then UID EXPUNGE uids.
  boost::asio::awaitable<imap_status> delete_messages(const std::string& mailbox,
                                                      const std::vector<std::uint32_t>& uids,
                                                      clock::time_point deadline);

  // Counters for tests and diagnose: connections opened (sockets libcurl asked for).
  std::size_t connections_opened() const;

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

// "1,5,7" (a UID set for a command).
std::string uid_set(const std::vector<std::uint32_t>& uids);

}  // namespace smtp_exporter::probes::imap
