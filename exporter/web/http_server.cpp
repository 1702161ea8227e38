#include "exporter/web/http_server.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include "common/host_port.hpp"
#include "common/secret.hpp"
#include "exporter/runtime/log.hpp"
#include "exporter/web/responses.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;
using asio::ip::tcp;

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// Writes `response` (its header alone for HEAD) a piece at a time, noting when each piece went,
// so that make_room() can tell a client that reads from one that does not.
template <typename Stream>
asio::awaitable<error_code> write_counted(Stream& stream, http_response& response,
                                          bool header_only,
                                          std::chrono::steady_clock::time_point& progress) {
  http::response_serializer<shared_text_body> serializer{response};
  serializer.split(header_only);
  error_code ec;
  while (!(header_only ? serializer.is_header_done() : serializer.is_done())) {
    std::size_t n = 0;
    std::tie(ec, n) = co_await http::async_write_some(stream, serializer, use_nothrow);
    if (ec) break;
    if (n > 0) progress = std::chrono::steady_clock::now();
  }
  co_return ec;
}

// RFC 9112 6.1 and 6.3: the only transfer coding this server reads is "chunked", alone. With
// any other (gzip, "chunked, gzip", two Transfer-Encoding lines, or one beside Content-Length)
// the body's length is not what every reader of the request would take it to be, so the body
// could pass for a next request (request smuggling behind a proxy that reads it the other way):
// such a request gets 400 and the connection closes. Empty when the framing is sound.
std::string framing_refusal(const http_request::message& request) {
  const auto codings = request.count(http::field::transfer_encoding);
  if (codings == 0) return {};
  if (request.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
  if (codings > 1) return "more than one Transfer-Encoding header";
  std::string_view value = request[http::field::transfer_encoding];
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (!beast::iequals(value, "chunked")) {
    return "Transfer-Encoding other than \"chunked\" (RFC 9112 6.3)";
  }
  if (request.count(http::field::content_length) > 0) {
    return "both Transfer-Encoding and Content-Length";
  }
  return {};
}
using request_buffer = beast::basic_flat_buffer<wiping_allocator<char>>;

// The bytes of the requests already answered stay in the buffer's storage behind the unread ones
// (a pipelined next request) until overwritten: wipes them, keeping the unread ones in front.
void wipe_answered(request_buffer& buffer) {
  const std::size_t unread = buffer.size();
  std::vector<char, wiping_allocator<char>> keep(unread);
  asio::buffer_copy(asio::buffer(keep), buffer.data());
  buffer.consume(unread);  // empty: the storage is all writable again, from its start
  const auto whole = buffer.prepare(buffer.capacity());
  OPENSSL_cleanse(whole.data(), whole.size());
  buffer.commit(asio::buffer_copy(buffer.prepare(unread), asio::buffer(keep)));
}

}  // namespace

bool parse_listen_address(const std::string& text, tcp::endpoint& endpoint, std::string& error) {
  host_port_problem problem;
  const auto parts = split_host_port(text, problem);
  // A bracket not closed, or followed by more than ":PORT", is worded as before the common
  // splitter: what precedes the last colon is no IP address.
  const auto colon = text.rfind(':');
  if (!parts && colon != std::string::npos) {
    error = "listen address \"" + text + "\": \"" + text.substr(0, colon) +
            "\" is not an IP address";
    return false;
  }
  if (!parts || !parts->port) {
    error = "listen address \"" + text + "\" has no port (want host:port or :port)";
    return false;
  }
  // Port 0: the kernel picks one (tests, and a listener whose port is read back).
  const auto port = parse_port(*parts->port, true);
  if (!port) {
    error = "listen address \"" + text + "\" has an invalid port";
    return false;
  }
  const std::string host(parts->host);
  asio::ip::address address;
  if (host.empty()) {
    address = asio::ip::address_v6::any();  // dual-stack: also accepts IPv4
  } else if (host == "localhost") {
    address = asio::ip::address_v4::loopback();
  } else {
    error_code ec;
    address = asio::ip::make_address(host, ec);
    if (ec) {
      error = "listen address \"" + text + "\": \"" + host + "\" is not an IP address";
      return false;
    }
  }
  endpoint = tcp::endpoint(address, *port);
  return true;
}

http_server::http_server(asio::any_io_executor executor, http_handler handler, limits l)
    : executor_(executor), handler_(std::move(handler)), limits_(l), acceptor_(executor) {}

bool http_server::listen(const tcp::endpoint& requested, std::string& error) {
  error_code ec;
  tcp::endpoint endpoint = requested;
  // ":port" means every address; on a host or pod without IPv6 that is 0.0.0.0, not a failure.
  if (endpoint.address() == asio::ip::address_v6::any()) {
    tcp::acceptor probe(acceptor_.get_executor());
    error_code v6_ec;
    probe.open(tcp::v6(), v6_ec);
    if (v6_ec) endpoint = tcp::endpoint(asio::ip::address_v4::any(), endpoint.port());
  }
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) {
    acceptor_.set_option(asio::ip::v6_only(false), ec);
  }
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + endpoint.address().to_string() + ":" +
            std::to_string(endpoint.port()) + ": " + ec.message();
    error_code ignored;
    acceptor_.close(ignored);
    return false;
  }
  return true;
}

tcp::endpoint http_server::local_endpoint() const {
  error_code ec;
  return acceptor_.local_endpoint(ec);
}

void http_server::start() {
  // Not detached: however the loop ends, someone hears of it.
  auto failed = on_listener_failed_;
  auto table = table_;
  asio::co_spawn(executor_, accept_loop(),
                 [failed, table](std::exception_ptr e) {
                   std::string why = "the listener stopped";
                   if (e) {
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       why = std::string("the listener failed: ") + ex.what();
                     } catch (...) {
                       why = "the listener failed";
                     }
                   } else if (table->stopping) {
                     return;  // stop() was called
                   }
                   log::error("HTTP listener stopped", {{"err", why}});
                   if (failed) failed(why);
                 });
}

void http_server::stop() {
  table_->stopping = true;
  error_code ignored;
  acceptor_.close(ignored);
}

namespace {

// Accept errors that retrying can cure: out of descriptors or memory, a connection that went
// away before accept. Anything else (a closed or broken listening socket) will not get better.
bool transient_accept_error(const error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_memory ||
         ec == asio::error::no_buffer_space || ec == asio::error::connection_aborted ||
         ec == asio::error::connection_reset || ec == asio::error::interrupted ||
         ec == asio::error::try_again || ec == asio::error::would_block ||
         ec == asio::error::network_down || ec == asio::error::network_unreachable ||
         ec == asio::error::host_unreachable || ec == asio::error::timed_out ||
         ec == asio::error::no_permission || ec.value() == ENFILE || ec.value() == EPROTO;
}

}  // namespace

asio::awaitable<void> http_server::accept_loop() {
  while (!table_->stopping) {
    auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
    if (table_->stopping) co_return;
    if (ec) {
      if (!transient_accept_error(ec)) {
        throw std::runtime_error("accept: " + ec.message());
      }
      // EMFILE and friends: back off briefly instead of spinning.
      log::warn("accept failed", {{"err", ec.message()}});
      asio::steady_timer pause(executor_, std::chrono::milliseconds(100));
      co_await pause.async_wait(use_nothrow);
      continue;
    }
    ++table_->stats.accepted;
    if (take_slot()) {
      asio::co_spawn(executor_, serve(std::move(socket)), asio::detached);
    } else if (table_->waiting < max_waiting) {
      asio::co_spawn(executor_, wait_for_slot(std::move(socket)), asio::detached);
    } else {
      ++table_->stats.refused_full;
      error_code ignored;
      socket.close(ignored);
    }
  }
}

bool http_server::make_room() {
  // The connection idle the longest; failing that, the one that has been sending its request the
  // longest (a real client sends its headers in one go, a slow-loris one byte at a time); failing
  // that, the response whose client has not read for the longest, once that is write_stall (the
  // kernel takes megabytes of a response at once: a client that reads never stalls the write for
  // long, one that asks and never reads does at once), or any response written for write_grace
  // (a trickle reader); failing that, the one that has waited for its handler the longest, once
  // that is busy_grace (a page waiting for a helper stuck in a read from a hung mount).
  const auto now = std::chrono::steady_clock::now();
  connection_entry* oldest_idle = nullptr;
  connection_entry* oldest_reading = nullptr;
  connection_entry* most_stalled = nullptr;
  connection_entry* longest_busy = nullptr;
  // A connection "idle" whose request is already in the kernel is not idle: the loop has not got
  // to it yet (a burst of connections keeps it busy). Closing it would drop a kubelet's or a
  // scraper's request that came just before the burst; it counts as reading from now on. A few
  // looks at most: under a burst, the oldest idle ones are those.
  for (int look = 0;; ++look) {
    oldest_idle = oldest_reading = most_stalled = longest_busy = nullptr;
    for (auto& e : table_->entries) {
      if (e.state == connection_state::idle) {
        if (oldest_idle == nullptr || e.since < oldest_idle->since) oldest_idle = &e;
      } else if (e.state == connection_state::reading) {
        if (oldest_reading == nullptr || e.since < oldest_reading->since) oldest_reading = &e;
      } else if (e.state == connection_state::writing && stalled(e, now)) {
        if (most_stalled == nullptr || e.progress < most_stalled->progress) most_stalled = &e;
      } else if (e.state == connection_state::busy && now - e.since >= limits_.busy_grace) {
        if (longest_busy == nullptr || e.since < longest_busy->since) longest_busy = &e;
      }
    }
    error_code ec;
    if (oldest_idle == nullptr || look >= 8 || oldest_idle->stream->socket().available(ec) == 0 ||
        ec) {
      break;
    }
    oldest_idle->state = connection_state::reading;
    oldest_idle->since = now;
  }
  connection_entry* victim = oldest_idle != nullptr      ? oldest_idle
                             : oldest_reading != nullptr ? oldest_reading
                             : most_stalled != nullptr   ? most_stalled
                                                         : longest_busy;
  if (victim == nullptr) return false;
  evict(*victim, victim == most_stalled);
  return true;
}

bool http_server::stalled(const connection_entry& e,
                          std::chrono::steady_clock::time_point now) const {
  return now - e.progress >= limits_.write_stall || now - e.since >= limits_.write_grace;
}

void http_server::evict(connection_entry& victim, bool slow_reader) {
  ++(slow_reader ? table_->stats.evicted_slow_reader : table_->stats.evicted);
  // Its coroutine wakes with operation_aborted and removes the entry.
  victim.state = connection_state::closing;
  --table_->open;
  error_code ignored;
  victim.stream->socket().close(ignored);
}

void http_server::limit_response_memory(const connection_entry& self) {
  // Every response passes here: first a plain sum, an upper bound of the bytes held (a shared
  // buffer counted once per response). Under the bound, as nearly always, nothing else is done.
  std::size_t upper = 0;
  for (const auto& e : table_->entries) {
    if (e.state == connection_state::writing) upper += e.body_bytes;
  }
  if (upper <= limits_.max_response_bytes) return;
  std::vector<std::pair<const char*, std::size_t>> held;
  for (;;) {
    held.clear();
    const auto now = std::chrono::steady_clock::now();
    connection_entry* most_stalled = nullptr;
    for (auto& e : table_->entries) {
      if (e.state != connection_state::writing || e.body_bytes == 0) continue;
      held.emplace_back(e.body, e.body_bytes);
      if (&e != &self && stalled(e, now) &&
          (most_stalled == nullptr || e.progress < most_stalled->progress)) {
        most_stalled = &e;
      }
    }
    std::sort(held.begin(), held.end());
    held.erase(std::unique(held.begin(), held.end()), held.end());
    std::size_t total = 0;
    for (const auto& [body, bytes] : held) total += bytes;
    if (total <= limits_.max_response_bytes || most_stalled == nullptr) return;
    evict(*most_stalled, true);
  }
}

bool http_server::take_slot() {
  if (table_->open >= limits_.max_connections && !make_room()) return false;
  ++table_->open;  // reserved now: serve() may start after the next accept
  return true;
}

asio::awaitable<void> http_server::wait_for_slot(tcp::socket socket) {
  // Every connection is being answered and none has stalled yet (e.g. just after a burst of
  // non-reading clients): rather than refuse at once, wait a little for one to stall or end.
  auto table = table_;
  ++table->waiting;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::max<std::chrono::milliseconds>(limits_.write_stall + limits_.write_stall,
                                                            limits_.busy_grace);
  asio::steady_timer pause(executor_);
  bool admitted = false;
  while (!table->stopping && std::chrono::steady_clock::now() < deadline) {
    pause.expires_after(std::chrono::milliseconds(20));
    co_await pause.async_wait(use_nothrow);
    if (table->stopping) break;
    if (take_slot()) {
      admitted = true;
      break;
    }
  }
  --table->waiting;
  if (!admitted) {
    ++table->stats.refused_full;
    error_code ignored;
    socket.close(ignored);
    co_return;
  }
  co_await serve(std::move(socket));
}

asio::awaitable<void> http_server::serve(tcp::socket socket) {
  const auto accepted = std::chrono::steady_clock::now();
  beast::tcp_stream tcp(std::move(socket));
  auto table = table_;
  auto entry = table->entries.insert(
      table->entries.end(), connection_entry{&tcp, connection_state::idle, accepted, accepted});
  ++table->stats.open;  // table->open was counted when the slot was taken
  struct unregister {
    std::shared_ptr<connection_table> table;
    std::list<connection_entry>::iterator entry;
    ~unregister() {
      if (entry->state != connection_state::closing) --table->open;
      --table->stats.open;
      table->entries.erase(entry);
    }
  } guard{table, entry};

  auto context = tls_ ? tls_() : nullptr;
  if (!context) {
    co_await serve_requests(tcp, tcp, *entry, accepted);
    error_code ignored;
    tcp.socket().shutdown(tcp::socket::shutdown_send, ignored);
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream&> tls(tcp, *context);
  entry->state = connection_state::reading;
  tcp.expires_at(accepted + limits_.header_timeout);
  auto [hec] = co_await tls.async_handshake(asio::ssl::stream_base::server, use_nothrow);
  // Evicted meanwhile (its completion may already have been queued): gone, whatever it says.
  if (entry->state == connection_state::closing) co_return;
  if (hec) {
    if (hec == beast::error::timeout) ++table->stats.header_timeouts;
    log::debug("TLS handshake failed", {{"err", hec.message()}});
    co_return;
  }
  co_await serve_requests(tls, tcp, *entry, accepted);
  tcp.expires_after(std::chrono::seconds(1));
  co_await tls.async_shutdown(use_nothrow);
}

template <typename Stream>
asio::awaitable<void> http_server::serve_requests(Stream& stream, beast::tcp_stream& tcp,
                                                  connection_entry& entry,
                                                  std::chrono::steady_clock::time_point accepted) {
  request_buffer buffer(limits_.max_header_bytes + limits_.max_body_bytes);
  error_code peer_error;
  const auto peer = tcp.socket().remote_endpoint(peer_error).address();
  bool first = true;
  for (;;) {
    // Idle until the request's first byte: the state in which a connection is the first to be
    // closed to make room. A new connection gets the header deadline for this wait, a kept-alive
    // one the idle deadline.
    entry.state = connection_state::idle;
    entry.since = std::chrono::steady_clock::now();
    entry.body = nullptr;
    entry.body_bytes = 0;
    auto header_deadline = accepted + limits_.header_timeout;
    if (buffer.size() == 0) {
      tcp.expires_at(first ? header_deadline : entry.since + limits_.idle_timeout);
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(1024), use_nothrow);
      if (ec) {
        if (first && ec == beast::error::timeout) ++table_->stats.header_timeouts;
        co_return;
      }
      buffer.commit(n);
    }
    if (entry.state == connection_state::closing) co_return;
    entry.state = connection_state::reading;
    entry.since = std::chrono::steady_clock::now();
    if (!first) header_deadline = std::chrono::steady_clock::now() + limits_.header_timeout;
    first = false;

    http::request_parser<http::string_body, wiping_allocator<char>> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.max_header_bytes));
    parser.body_limit(limits_.max_body_bytes);
    tcp.expires_at(header_deadline);
    // The header first: its framing is checked before any of the body is read as one.
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
    // Evicted while its request arrived (the completion was already queued): the slot is given
    // away, and the state must stay `closing` so that the slot is not counted free twice.
    if (entry.state == connection_state::closing) co_return;
    const std::string refusal = ec ? std::string() : framing_refusal(parser.get());
    if (!ec && refusal.empty() && !parser.is_done()) {
      std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, use_nothrow);
      if (entry.state == connection_state::closing) co_return;
    }
    if (ec || !refusal.empty()) {
      if (ec == beast::error::timeout) ++table_->stats.header_timeouts;
      if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
          ec == asio::error::connection_reset || ec == asio::error::eof ||
          ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
          ec == asio::ssl::error::stream_truncated) {
        co_return;
      }
      // A malformed or oversized request gets a clear answer, then the connection closes.
      auto bad = text_response(ec == http::error::header_limit || ec == http::error::body_limit
                                   ? http::status::payload_too_large
                                   : http::status::bad_request,
                               "bad request: " + (ec ? ec.message() : refusal) + "\n");
      bad.set(http::field::connection, "close");
      bad.prepare_payload();
      entry.state = connection_state::busy;
      tcp.expires_after(std::chrono::seconds(5));
      co_await http::async_write(stream, bad, use_nothrow);
      co_return;
    }
    entry.state = connection_state::busy;
    entry.since = std::chrono::steady_clock::now();
    tcp.expires_never();  // the handler may wait for a render; the write has its own deadline
    http_request request(parser.release(), peer);
    http_response response;
    try {
      response = co_await handler_(request);
    } catch (const std::exception& e) {
      log::error("http handler failed", {{"path", request.target()}, {"err", e.what()}});
      response = text_response(http::status::internal_server_error, "internal error\n");
    }
    // Answered: nothing the request carried is needed any more (its fields go with `request`).
    wipe_answered(buffer);
    cleanse(request.body());
    if (entry.state == connection_state::closing) co_return;
    // A handler may ask to close (Connection: close); otherwise the client decides.
    const bool handler_closes = !response.keep_alive();
    response.version(request.version());
    response.keep_alive(request.keep_alive() && !handler_closes);
    response.prepare_payload();
    tcp.expires_after(limits_.write_timeout);
    entry.state = connection_state::writing;
    entry.since = entry.progress = std::chrono::steady_clock::now();
    if (request.method() != http::verb::head) {
      entry.body = response.body().view().data();
      entry.body_bytes = response.body().size();
      limit_response_memory(entry);
    }
    // HEAD: the headers (with the Content-Length a GET would have), never the body, or a
    // keep-alive client would read the body as the start of the next response.
    const error_code wec = co_await write_counted(stream, response,
                                                  request.method() == http::verb::head,
                                                  entry.progress);
    if (wec || !response.keep_alive() || entry.state == connection_state::closing) co_return;
  }
}

}  // namespace smtp_exporter::exporter
