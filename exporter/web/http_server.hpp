// The exporter's HTTP endpoint on Boost.Beast: one coroutine per connection on the shared
// executor, one handler supplied by the caller (the app's route table behind basic auth:
// routes.hpp, basic_auth.hpp; its own 400, 413 and 500 answers from responses.hpp), and limits that keep one client from locking
// Prometheus out:
// - a short deadline for a request's headers (from accept, or from the first byte of a kept-alive
//   connection's next request), a separate, longer one for keep-alive idleness, one for writing;
// - a connection cap; when full, the connection idle the longest (or, with none idle, the one
//   that has been sending its request the longest; or, with none of those, the one whose client
//   has stopped reading its response for the longest) is closed to make room, so a flood of idle,
//   trickling or non-reading connections cannot keep a scraper (or a kubelet) out;
// - per connection at most one request (header and body limits) and one response in memory, and
//   a response that the client does not read is dropped at the write deadline;
// - what a request carried (the web password in its Authorization header) does not outlive it:
//   the read buffer and the header fields are wiped when freed, the buffer's bytes of a request
//   once it is answered, and the body (issue 24, finding 8);
// - a request whose body length is ambiguous (a Transfer-Encoding other than "chunked" alone, or
//   one beside Content-Length) gets 400 and the connection closes (RFC 9112 6.3).
//
// Thread-safety: every member on the server's executor (a single-threaded io_context).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/optional/optional.hpp>

#include "common/wiping_allocator.hpp"

namespace smtp_exporter::exporter {

// A response body that is either the response's own text or a buffer shared with other
// responses: the scrapes that joined one /metrics render (shared_render.hpp) hold one copy of it
// between them, not one each, however long their clients take to read.
struct shared_text_body {
  class value_type {
   public:
    value_type() = default;
    value_type(std::string text) : own_(std::move(text)) {}  // NOLINT: implicit, like a string
    value_type& operator=(std::string text) {
      own_ = std::move(text);
      shared_.reset();
      return *this;
    }
    void share(std::shared_ptr<const std::string> text) {
      shared_ = std::move(text);
      std::string().swap(own_);
    }
    std::string_view view() const noexcept {
      return shared_ ? std::string_view(*shared_) : std::string_view(own_);
    }
    std::size_t size() const noexcept { return view().size(); }
    bool empty() const noexcept { return view().empty(); }
    // True when the text is shared with other responses (for tests).
    bool shared() const noexcept { return shared_ != nullptr; }

   private:
    std::string own_;
    std::shared_ptr<const std::string> shared_;
  };

  static std::uint64_t size(const value_type& body) { return body.size(); }

  // Beast's BodyWriter: the whole text as one buffer, as string_body does.
  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;
    template <bool is_request, class Fields>
    writer(const boost::beast::http::header<is_request, Fields>&, const value_type& body)
        : body_(body) {}
    void init(boost::system::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(boost::system::error_code& ec) {
      ec = {};
      const auto text = body_.view();
      return {{const_buffers_type(text.data(), text.size()), false}};
    }

   private:
    const value_type& body_;
  };
};

// A request's header fields (the Authorization header among them: the web password in base64),
// in memory that is wiped when it is freed (issue 24, finding 8).
using http_fields = boost::beast::http::basic_fields<wiping_allocator<char>>;
// A request as the handler sees it: Beast's message and the address it came from (the accepted
// socket's peer), on which basic auth keys its per-client limits (auth_throttle.hpp).
struct http_request : boost::beast::http::request<boost::beast::http::string_body, http_fields> {
  using message = boost::beast::http::request<boost::beast::http::string_body, http_fields>;
  using message::message;
  http_request() = default;
  http_request(message&& m, boost::asio::ip::address from)
      : message(std::move(m)), peer(std::move(from)) {}
  boost::asio::ip::address peer;  // unspecified (0.0.0.0) when made by hand (tests)
};
using http_response = boost::beast::http::response<shared_text_body>;
using http_handler = std::function<boost::asio::awaitable<http_response>(const http_request&)>;
// The TLS context for the next accepted connection; nullptr serves plain HTTP. Called once per
// connection, so a context swapped in after a certificate rotation applies to new connections.
using tls_context_source = std::function<std::shared_ptr<boost::asio::ssl::context>()>;

// "host:port", "[v6]:port" or ":port" (every address); the host an IP address or "localhost", the
// port 0 to 65535 (split and read by common/host_port.hpp). Returns false with `error` set.
bool parse_listen_address(const std::string& text, boost::asio::ip::tcp::endpoint& endpoint,
                          std::string& error);

class http_server {
 public:
  struct limits {
    std::size_t max_connections = 512;
    std::size_t max_header_bytes = 16 * 1024;
    std::size_t max_body_bytes = 64 * 1024;
    // From accept (or the first byte of a kept-alive connection's next request) to the end of the
    // request, TLS handshake included.
    std::chrono::milliseconds header_timeout{5000};
    // A kept-alive connection waiting for its next request.
    std::chrono::milliseconds idle_timeout{60000};
    // Writing one response; a client that does not read is cut off here.
    std::chrono::milliseconds write_timeout{30000};
    // At the cap, a response may be cut off to make room once its client has not read for
    // write_stall, or once it has been written for write_grace; the longest stalled first. A new
    // connection that finds none waits up to twice write_stall for one before it is refused.
    std::chrono::milliseconds write_stall{250};
    std::chrono::milliseconds write_grace{5000};
    // At the cap, after those, a connection whose handler has been running this long (waiting
    // for a page, a render or a reload) may be closed to make room, the longest waiting first:
    // a helper stuck in a file read must not hold every connection (issue 24, finding 4). A new
    // connection waits up to this long (at least twice write_stall) for one.
    std::chrono::milliseconds busy_grace{1000};
    // Most bytes of response bodies held by connections being written, each buffer counted once
    // (the scrapes that joined one render share it). When a response would take more, responses
    // stalled as above are cut off first, the longest stalled first, whatever the connection
    // count: at 10,000 targets a plain /metrics is ~35 MB, and a client that asks and never reads
    // would otherwise hold one render each, up to the connection cap.
    std::size_t max_response_bytes = 64u << 20;
  };
  // Written on the server's executor, read by scrapes on another thread.
  struct counters {
    std::atomic<std::uint64_t> open{0};
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> evicted{0};  // closed to make room: idle or sending its request
    std::atomic<std::uint64_t> evicted_slow_reader{0};  // ... while its client did not read
    std::atomic<std::uint64_t> refused_full{0};  // nothing to close: the new one was refused
    std::atomic<std::uint64_t> header_timeouts{0};
  };

  http_server(boost::asio::any_io_executor executor, http_handler handler, limits l);
  http_server(boost::asio::any_io_executor executor, http_handler handler)
      : http_server(std::move(executor), std::move(handler), limits{}) {}

  void set_limits(const limits& l) { limits_ = l; }
  void set_tls(tls_context_source source) { tls_ = std::move(source); }
  // Called once if the listener stops for any reason other than stop(): an exception or an accept
  // error that retrying cannot cure. The process must not run on without its web port.
  void on_listener_failed(std::function<void(const std::string&)> callback) {
    on_listener_failed_ = std::move(callback);
  }

  // Binds and listens; returns false with `error` set (e.g. address in use).
  bool listen(const boost::asio::ip::tcp::endpoint& endpoint, std::string& error);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // For tests: the listening socket.
  int native_listen_handle() { return acceptor_.native_handle(); }
  void start();
  void stop();

  std::size_t open_connections() const { return table_->open; }
  // Safe from any thread.
  const counters& stats() const { return table_->stats; }

 private:
  // busy: in the handler (since `since`); writing: its response is being written (since
  // `since`; the last piece went at `progress`).
  enum class connection_state : std::uint8_t { idle, reading, busy, writing, closing };
  struct connection_entry {
    boost::beast::tcp_stream* stream;
    connection_state state;
    std::chrono::steady_clock::time_point since;
    std::chrono::steady_clock::time_point progress;
    // While writing: the body's buffer (shared buffers compare equal) and its size.
    const char* body = nullptr;
    std::size_t body_bytes = 0;
  };
  // Shared with the connection coroutines, which may outlive the server at shutdown.
  struct connection_table {
    std::list<connection_entry> entries;
    std::size_t open = 0;     // slots taken: entries not closing, and serve()s about to start
    std::size_t waiting = 0;  // new connections waiting for a slot
    bool stopping = false;
    counters stats;
  };

  boost::asio::awaitable<void> accept_loop();
  // Makes room for one more connection; false when every open connection is busy for less than
  // busy_grace, or writing and neither stalled nor old enough.
  bool make_room();
  // A response whose client has not read for write_stall, or written for write_grace.
  bool stalled(const connection_entry& e, std::chrono::steady_clock::time_point now) const;
  // Closes `victim` to make room (its coroutine removes the entry); counted as `slow_reader` or not.
  void evict(connection_entry& victim, bool slow_reader);
  // Before `self` writes its response: cuts off stalled responses while the bodies held by
  // connections being written, `self`'s included, exceed limits::max_response_bytes.
  void limit_response_memory(const connection_entry& self);
  // Counts a new connection in, making room if needed; false when there is none.
  bool take_slot();
  boost::asio::awaitable<void> wait_for_slot(boost::asio::ip::tcp::socket socket);
  static constexpr std::size_t max_waiting = 32;
  boost::asio::awaitable<void> serve(boost::asio::ip::tcp::socket socket);
  template <typename Stream>
  boost::asio::awaitable<void> serve_requests(Stream& stream, boost::beast::tcp_stream& tcp,
                                              connection_entry& entry,
                                              std::chrono::steady_clock::time_point accepted);

  boost::asio::any_io_executor executor_;
  http_handler handler_;
  limits limits_;
  tls_context_source tls_;
  std::function<void(const std::string&)> on_listener_failed_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<connection_table> table_ = std::make_shared<connection_table>();
};

}  // namespace smtp_exporter::exporter
