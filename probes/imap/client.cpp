#include "probes/imap/client.hpp"

#include <curl/curl.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <mutex>
#include <set>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "common/text_escape.hpp"
#include "probes/oauth/token_cache.hpp"

namespace smtp_exporter::probes::imap {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

static_assert(static_cast<std::size_t>(imap_error::timeout) + 1 == imap_error_count,
              "imap_error_count must follow the enum");
constexpr std::array<std::string_view, imap_error_count> error_names = {
    "none",         "connect_failed", "connect_timeout", "tls_certificate", "tls_failed",
    "auth_rejected", "token_failed",  "protocol_error",  "timeout"};

// libcurl's global state: once per process, before the first handle (thread-safe in 7.84+ builds
// with the "threadsafe" feature, as Debian 12's; the once_flag covers older ones).
void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Past the operation's deadline, libcurl's own timeout has fired long ago; this is the guard
// against a transfer libcurl never finishes.
constexpr auto backstop_slack = std::chrono::milliseconds(500);

// A header field name as RFC 5322 allows it (printable ASCII but ':' and space).
bool valid_field_name(std::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  for (char c : name)
    if (c <= ' ' || c >= 127 || c == ':' || c == '(' || c == ')' || c == '"' || c == '\\')
      return false;
  return true;
}

// Removes every occurrence of a secret from a text meant for people.
void scrub(std::string& text, std::string_view secret) {
  if (secret.size() < 3) return;  // too short to find without mangling ordinary words
  for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos))
    text.replace(pos, secret.size(), "[redacted]");
}

// "* OK ...", "* PREAUTH ..." or "* BYE ..." (RFC 3501 greeting), case-insensitively.
bool imap_greeting(std::string_view line) {
  auto upper = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
    return out;
  };
  const std::string head = upper(line.substr(0, 10));
  return head.starts_with("* OK") || head.starts_with("* PREAUTH") || head.starts_with("* BYE");
}

std::string escape_path(const std::string& mailbox) {
  char* escaped = curl_easy_escape(nullptr, mailbox.data(), static_cast<int>(mailbox.size()));
  std::string out = escaped ? escaped : "";
  curl_free(escaped);
  return out;
}

}  // namespace

std::string_view imap_error_name(imap_error error) {
  auto i = static_cast<std::size_t>(error);
  return i < error_names.size() ? error_names[i] : "unknown";
}

std::string uid_set(const std::vector<std::uint32_t>& uids) {
  std::vector<std::uint32_t> sorted(uids);
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::string out;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j + 1 < sorted.size() && sorted[j + 1] == sorted[j] + 1) ++j;
    if (!out.empty()) out.push_back(',');
    out += std::to_string(sorted[i]);
    if (j > i) out += ":" + std::to_string(sorted[j]);
    i = j + 1;
  }
  return out;
}

struct imap_client::impl : std::enable_shared_from_this<impl> {
  // One libcurl transfer (one IMAP command and what it needs first: connect, login, SELECT).
  struct transfer {
    explicit transfer(const asio::any_io_executor& ex) : done(ex) {}
    ~transfer() {
      if (resolve) curl_slist_free_all(resolve);
      if (easy) curl_easy_cleanup(easy);
    }
    CURL* easy = nullptr;
    curl_slist* resolve = nullptr;
    std::string body;
    std::size_t cap = 0;
    bool overflow = false;
    std::optional<CURLcode> result;
    asio::steady_timer done;  // cancelled when the transfer ends; expiry: the backstop
    std::array<char, CURL_ERROR_SIZE> errbuf{};
    // The first line the server sent on a new connection (its greeting), for the error of a
    // server that is not IMAP: libcurl waits for "* OK" until the deadline instead of saying so.
    std::string greeting;
    bool greeting_seen = false;
    std::size_t opened_before = 0;     // sockets opened before this transfer
    std::size_t connected_before = 0;  // sockets that reached their peer before it
  };

  // A socket libcurl waits on: ours (opened for it) or one of its own (the threaded resolver's
  // wake-up pipe), which we only watch and never close.
  struct socket_entry {
    std::uint64_t id = 0;
    std::unique_ptr<asio::ip::tcp::socket> socket;
    std::unique_ptr<asio::posix::stream_descriptor> foreign;
    int what = 0;  // CURL_POLL_IN / OUT / INOUT as libcurl last asked
    bool tcp_connected = false;  // seen with a peer: libcurl's "connected" also waits for IMAP
    bool reading = false;
    bool writing = false;
  };

  impl(asio::any_io_executor executor, imap_options options)
      : ex(std::move(executor)), opt(std::move(options)), timer(ex) {
    global_init();
    multi = curl_multi_init();
    curl_multi_setopt(multi, CURLMOPT_SOCKETFUNCTION, &impl::on_socket);
    curl_multi_setopt(multi, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi, CURLMOPT_TIMERFUNCTION, &impl::on_timer);
    curl_multi_setopt(multi, CURLMOPT_TIMERDATA, this);
    // libcurl ends a connection it evicts from its cache (too many, or idle too long) with a
    // LOGOUT whose answer it waits for *blocking*, up to CURLOPT_SERVER_RESPONSE_TIMEOUT. So it
    // never evicts one: room for more connections than a run makes (one, or two when a token
    // rotates), no maximum idle age; close() ends them all without that wait.
    curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, 8L);
  }

  ~impl() { close(); }

  // Ends every transfer and connection now. Sockets are shut down first so that libcurl's
  // LOGOUT at cleanup (which it sends and waits for *blocking*) fails at once instead of waiting
  // on a slow server.
  void close() {
    if (!multi) return;
    for (auto& [easy, t] : active) {
      curl_multi_remove_handle(multi, easy);
      if (!t->result) t->result = CURLE_ABORTED_BY_CALLBACK;
      t->done.cancel();
    }
    active.clear();
    for (auto& [fd, entry] : sockets)
      if (entry.socket) ::shutdown(fd, SHUT_RDWR);
    curl_multi_cleanup(multi);  // closes our sockets through on_close_socket
    multi = nullptr;
    timer.cancel();
    for (auto& [fd, entry] : sockets) {
      if (entry.foreign) {
        entry.foreign->cancel();
        entry.foreign->release();
      }
    }
    sockets.clear();
  }

  // libcurl callbacks (C linkage-compatible static functions).
  static curl_socket_t on_open_socket(void* clientp, curlsocktype purpose,
                                      curl_sockaddr* address) {
    auto* self = static_cast<impl*>(clientp);
    if (purpose != CURLSOCKTYPE_IPCXN || address->socktype != SOCK_STREAM) return CURL_SOCKET_BAD;
    auto socket = std::make_unique<asio::ip::tcp::socket>(self->ex);
    boost::system::error_code ec;
    if (address->family == AF_INET6) {
      socket->open(asio::ip::tcp::v6(), ec);
    } else if (address->family == AF_INET) {
      socket->open(asio::ip::tcp::v4(), ec);
    } else {
      return CURL_SOCKET_BAD;
    }
    if (ec) return CURL_SOCKET_BAD;
    curl_socket_t fd = socket->native_handle();
    auto& entry = self->sockets[fd];
    entry = socket_entry{};
    entry.id = self->next_id++;
    entry.socket = std::move(socket);
    ++self->opened;
    return fd;
  }

  static int on_close_socket(void* clientp, curl_socket_t fd) {
    auto* self = static_cast<impl*>(clientp);
    auto it = self->sockets.find(fd);
    if (it == self->sockets.end() || !it->second.socket) return ::close(fd);
    boost::system::error_code ec;
    it->second.socket->close(ec);  // pending waits end with operation_aborted
    self->sockets.erase(it);
    return 0;
  }

  static int on_socket(CURL*, curl_socket_t fd, int what, void* userp, void*) {
    auto* self = static_cast<impl*>(userp);
    auto it = self->sockets.find(fd);
    if (what == CURL_POLL_REMOVE) {
      if (it == self->sockets.end()) return 0;
      it->second.what = 0;
      boost::system::error_code ec;
      if (it->second.foreign) {
        it->second.foreign->cancel(ec);
        it->second.foreign->release();
        self->sockets.erase(it);
      } else if (it->second.socket) {
        it->second.socket->cancel(ec);
      }
      return 0;
    }
    if (it == self->sockets.end()) {
      socket_entry entry;
      entry.id = self->next_id++;
      entry.foreign = std::make_unique<asio::posix::stream_descriptor>(self->ex);
      boost::system::error_code ec;
      entry.foreign->assign(fd, ec);
      if (ec) return -1;
      it = self->sockets.emplace(fd, std::move(entry)).first;
    }
    it->second.what = what;
    self->arm(fd);
    return 0;
  }

  static int on_timer(CURLM*, long timeout_ms, void* userp) {
    auto* self = static_cast<impl*>(userp);
    if (timeout_ms < 0) {
      self->timer.cancel();
      return 0;
    }
    self->timer.expires_after(std::chrono::milliseconds(timeout_ms));
    self->timer.async_wait([weak = self->weak_from_this()](boost::system::error_code ec) {
      auto me = weak.lock();
      if (ec || !me || !me->multi) return;
      int running = 0;
      curl_multi_socket_action(me->multi, CURL_SOCKET_TIMEOUT, 0, &running);
      me->finish_done();
    });
    return 0;
  }

  static std::size_t on_write(char* data, std::size_t size, std::size_t count, void* userp) {
    auto* t = static_cast<transfer*>(userp);
    std::size_t n = size * count;
    if (t->body.size() + n > t->cap) {
      t->overflow = true;
      return 0;  // CURLE_WRITE_ERROR: the answer is over the cap
    }
    t->body.append(data, n);
    return n;
  }

  // libcurl's trace, used for one thing: the first server line (CURLINFO_HEADER_IN). What the
  // client sends (HEADER_OUT: LOGIN and AUTHENTICATE carry secrets) and data are never kept.
  static int on_debug(CURL*, curl_infotype type, char* data, std::size_t size, void* userp) {
    auto* t = static_cast<transfer*>(userp);
    if (type != CURLINFO_HEADER_IN || t->greeting_seen) return 0;
    t->greeting_seen = true;
    std::string_view line(data, size);
    line = line.substr(0, line.find_first_of("\r\n"));
    t->greeting = std::string(line.substr(0, 160));
    return 0;
  }

  static CURLcode on_ssl_context(CURL*, void* ssl_ctx, void* userp) {
    auto* self = static_cast<impl*>(userp);
    // The trust store of the configured context (ca_file or the system store), shared, not
    // copied: verified the same way as the SMTP side.
    X509_STORE* store = SSL_CTX_get_cert_store(self->opt.tls_context->native_handle());
    SSL_CTX_set1_cert_store(static_cast<SSL_CTX*>(ssl_ctx), store);
    return CURLE_OK;
  }

  // Waits for what libcurl asked on `fd` (once per direction).
  void arm(curl_socket_t fd) {
    auto it = sockets.find(fd);
    if (it == sockets.end()) return;
    auto& e = it->second;
    auto wait = [&](auto wait_type, bool& pending, int select_flag) {
      pending = true;
      auto handler = [self = shared_from_this(), fd, id = e.id,
                      select_flag](boost::system::error_code ec) {
        self->on_ready(fd, id, select_flag, ec);
      };
      if (e.socket) e.socket->async_wait(wait_type, handler);
      else e.foreign->async_wait(wait_type == asio::socket_base::wait_read
                                     ? asio::posix::descriptor_base::wait_read
                                     : asio::posix::descriptor_base::wait_write,
                                 handler);
    };
    if ((e.what & CURL_POLL_IN) && !e.reading)
      wait(asio::socket_base::wait_read, e.reading, CURL_CSELECT_IN);
    if ((e.what & CURL_POLL_OUT) && !e.writing)
      wait(asio::socket_base::wait_write, e.writing, CURL_CSELECT_OUT);
  }

  void on_ready(curl_socket_t fd, std::uint64_t id, int select_flag, boost::system::error_code ec) {
    auto it = sockets.find(fd);
    if (it == sockets.end() || it->second.id != id || !multi) return;
    auto& e = it->second;
    (select_flag == CURL_CSELECT_IN ? e.reading : e.writing) = false;
    if (!ec && e.socket && !e.tcp_connected) {
      boost::system::error_code peer_ec;
      e.socket->remote_endpoint(peer_ec);
      if (!peer_ec) {
        e.tcp_connected = true;
        ++connected;
      }
    }
    if (ec == asio::error::operation_aborted) {
      arm(fd);  // a cancel by POLL_REMOVE leaves what == 0: nothing is armed again
      return;
    }
    int wanted = select_flag == CURL_CSELECT_IN ? CURL_POLL_IN : CURL_POLL_OUT;
    if (!(e.what & wanted)) return;
    int running = 0;
    curl_multi_socket_action(multi, fd, ec ? CURL_CSELECT_ERR : select_flag, &running);
    finish_done();
    auto again = sockets.find(fd);
    if (again != sockets.end() && again->second.id == id) arm(fd);
  }

  void finish_done() {
    if (!multi) return;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      CURLcode code = msg->data.result;
      auto it = active.find(easy);
      curl_multi_remove_handle(multi, easy);
      if (it == active.end()) continue;
      it->second->result = code;
      it->second->done.cancel();
      active.erase(it);
    }
  }

  std::string base_url() const {
    std::string host = opt.host.find(':') != std::string::npos ? "[" + opt.host + "]" : opt.host;
    return std::string(opt.tls == tls_mode::implicit ? "imaps://" : "imap://") + host + ":" +
           std::to_string(opt.port);
  }

  // One transfer: `path` after the base URL, `custom` the command (empty: what the URL says).
  asio::awaitable<imap_result<std::string>> perform(std::string path, std::string custom,
                                                    clock::time_point deadline) {
    auto self = shared_from_this();
    imap_result<std::string> out;
    if (!multi) {
      out.status = {imap_error::protocol_error, "client closed"};
      co_return out;
    }
    if (!opt.tls_context) {
      out.status = {imap_error::tls_failed, "no TLS context"};
      co_return out;
    }
    std::shared_ptr<const secret_string> token;
    if (opt.token_source) {
      auto got = co_await opt.token_source->get(deadline);
      if (!got.ok()) {
        out.status = {imap_error::token_failed, "no bearer token: " + got.detail};
        co_return out;
      }
      token = got.access_token;
    }
    auto now = clock::now();
    if (deadline <= now) {
      out.status = {imap_error::timeout, "deadline passed before the command"};
      co_return out;
    }
    auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
    if (left_ms < 1) left_ms = 1;

    auto t = std::make_shared<transfer>(ex);
    t->easy = curl_easy_init();
    t->cap = opt.max_response_bytes;
    CURL* e = t->easy;
    std::string url = base_url() + path;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "imap,imaps");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(left_ms));
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(left_ms));
    // Also bounds libcurl's blocking wait for a LOGOUT answer when it closes a connection.
    curl_easy_setopt(e, CURLOPT_SERVER_RESPONSE_TIMEOUT,
                     static_cast<long>(std::max<long long>(1, left_ms / 1000)));
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 24L * 3600L);  // see CURLMOPT_MAXCONNECTS above
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf.data());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &impl::on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, &impl::on_debug);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, t.get());
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);  // only so that on_debug sees the greeting
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, &impl::on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, this);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, &impl::on_close_socket);
    curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, this);
    if (opt.tls == tls_mode::starttls) curl_easy_setopt(e, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    // No CA file or directory of libcurl's: the store comes from the configured context.
    curl_easy_setopt(e, CURLOPT_CAINFO, nullptr);
    curl_easy_setopt(e, CURLOPT_CAPATH, nullptr);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, &impl::on_ssl_context);
    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, this);
    curl_easy_setopt(e, CURLOPT_USERNAME, opt.username.c_str());
    if (token) {
      std::string bearer(token->reveal());
      curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, bearer.c_str());  // libcurl copies it
      cleanse(bearer);
      curl_easy_setopt(e, CURLOPT_LOGIN_OPTIONS, opt.bearer_mechanism == sasl_bearer::oauthbearer
                                                     ? "AUTH=OAUTHBEARER"
                                                     : "AUTH=XOAUTH2");
    } else if (opt.password) {
      std::string password(opt.password->reveal());
      curl_easy_setopt(e, CURLOPT_PASSWORD, password.c_str());
      cleanse(password);
    }
    if (!opt.address.empty()) {
      std::string address =
          opt.address.find(':') != std::string::npos ? "[" + opt.address + "]" : opt.address;
      std::string entry = opt.host + ":" + std::to_string(opt.port) + ":" + address;
      t->resolve = curl_slist_append(nullptr, entry.c_str());
      curl_easy_setopt(e, CURLOPT_RESOLVE, t->resolve);
    }
    if (!custom.empty()) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, custom.c_str());

    t->opened_before = opened;
    t->connected_before = connected;
    t->done.expires_at(deadline + backstop_slack);
    active.emplace(e, t);
    if (curl_multi_add_handle(multi, e) != CURLM_OK) {
      active.erase(e);
      out.status = {imap_error::protocol_error, "libcurl refused the transfer"};
      co_return out;
    }
    boost::system::error_code ec;
    co_await t->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (!t->result) {  // the backstop: libcurl never finished it
      if (multi) curl_multi_remove_handle(multi, e);
      active.erase(e);
      out.status = {imap_error::timeout, "no answer within the deadline"};
      co_return out;
    }
    out.status = classify(*t, token ? token->reveal() : std::string_view{});
    if (out.ok()) out.value = std::move(t->body);
    co_return out;
  }

  imap_status classify(const transfer& t, std::string_view token) const {
    CURLcode code = *t.result;
    if (code == CURLE_OK) return {};
    imap_status s;
    if (t.overflow) {
      s = {imap_error::protocol_error,
           "answer over " + std::to_string(t.cap) + " bytes (max_response_bytes)"};
      return s;
    }
    switch (code) {
      case CURLE_COULDNT_CONNECT:
      case CURLE_COULDNT_RESOLVE_HOST:
        s.error = imap_error::connect_failed;
        break;
      case CURLE_OPERATION_TIMEDOUT:
        if (t.greeting_seen && !imap_greeting(t.greeting)) {
          s.error = imap_error::protocol_error;
          s.detail = "not an IMAP server: it greeted \"" + printable_excerpt(t.greeting, 80) + "\"";
          return s;
        }
        // connect_timeout: this transfer opened a socket and none reached its peer. A server
        // silent after TCP connected (libcurl still says "Connection timed out": its connect
        // phase ends after the greeting, TLS and login), or a reused connection, is `timeout`.
        s.error = opened > t.opened_before && connected == t.connected_before
                      ? imap_error::connect_timeout
                      : imap_error::timeout;
        break;
      case CURLE_PEER_FAILED_VERIFICATION:
        s.error = imap_error::tls_certificate;
        break;
      case CURLE_SSL_CONNECT_ERROR:
      case CURLE_USE_SSL_FAILED:
      case CURLE_SSL_CIPHER:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_SSL_ENGINE_NOTFOUND:
      case CURLE_SSL_ENGINE_SETFAILED:
      case CURLE_SSL_SHUTDOWN_FAILED:
      case CURLE_SSL_CRL_BADFILE:
      case CURLE_SSL_ISSUER_ERROR:
      case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      case CURLE_SSL_INVALIDCERTSTATUS:
      case CURLE_SSL_CLIENTCERT:
        s.error = imap_error::tls_failed;
        break;
      case CURLE_LOGIN_DENIED:
        // libcurl reports a refused SELECT (no such mailbox) with the login's code too; only its
        // message tells them apart.
        s.error = std::string_view(t.errbuf.data()).starts_with("Select failed")
                      ? imap_error::protocol_error
                      : imap_error::auth_rejected;
        break;
      default:
        s.error = imap_error::protocol_error;
        break;
    }
    s.detail = curl_easy_strerror(code);
    if (code == CURLE_LOGIN_DENIED && s.error == imap_error::protocol_error) {
      s.detail = "the server refused to SELECT the mailbox (does it exist?)";
      return s;
    }
    if (t.errbuf[0] != '\0') {
      s.detail += ": ";
      s.detail += t.errbuf.data();
    }
    if (opt.password) scrub(s.detail, opt.password->reveal());
    scrub(s.detail, token);
    return s;
  }

  asio::any_io_executor ex;
  imap_options opt;
  CURLM* multi = nullptr;
  asio::steady_timer timer;
  std::map<curl_socket_t, socket_entry> sockets;
  std::map<CURL*, std::shared_ptr<transfer>> active;
  std::uint64_t next_id = 1;
  std::size_t opened = 0;
  std::size_t connected = 0;
};

imap_client::imap_client(asio::any_io_executor executor, imap_options options)
    : impl_(std::make_shared<impl>(std::move(executor), std::move(options))) {}

imap_client::~imap_client() { impl_->close(); }

std::size_t imap_client::connections_opened() const { return impl_->opened; }

asio::awaitable<imap_result<std::vector<mailbox_info>>> imap_client::list(
    clock::time_point deadline) {
  auto self = impl_;
  imap_result<std::vector<mailbox_info>> out;
  auto r = co_await self->perform("/", "", deadline);
  out.status = r.status;
  if (!r.ok()) co_return out;
  auto parsed = parse_list(r.value, self->opt.max_results);
  out.value = std::move(parsed.mailboxes);
  co_return out;
}

asio::awaitable<imap_result<std::vector<std::uint32_t>>> imap_client::search_header(
    const std::string& mailbox, const std::string& name, const std::string& value,
    clock::time_point deadline) {
  auto self = impl_;
  imap_result<std::vector<std::uint32_t>> out;
  auto quoted = imap_quote(value);
  if (!valid_field_name(name) || !quoted || mailbox.empty()) {
    out.status = {imap_error::protocol_error, "search: bad header name, value or mailbox"};
    co_return out;
  }
  auto r = co_await self->perform("/" + escape_path(mailbox),
                                  "UID SEARCH HEADER " + name + " " + *quoted, deadline);
  out.status = r.status;
  if (!r.ok()) co_return out;
  auto parsed = parse_search(r.value, self->opt.max_results);
  if (parsed.malformed) {
    out.status = {imap_error::protocol_error, "unreadable SEARCH answer"};
    co_return out;
  }
  out.value = std::move(parsed.numbers);
  co_return out;
}

asio::awaitable<imap_result<std::vector<std::uint32_t>>> imap_client::search_stale(
    const std::string& mailbox, const std::string& name,
    std::chrono::system_clock::time_point older_than, clock::time_point deadline) {
  auto self = impl_;
  auto found = co_await search_header(mailbox, name, "", deadline);
  if (!found.ok() || found.value.empty()) co_return found;
  imap_result<std::vector<std::uint32_t>> out;
  auto r = co_await self->perform("/" + escape_path(mailbox),
                                  "UID FETCH " + uid_set(found.value) + " (UID INTERNALDATE)",
                                  deadline);
  out.status = r.status;
  if (!r.ok()) co_return out;
  auto dates = parse_internal_dates(r.value, self->opt.max_results);
  for (const auto& m : dates.messages)
    if (m.internal_date < older_than) out.value.push_back(m.uid);
  co_return out;
}

asio::awaitable<imap_result<fetched_headers>> imap_client::fetch_headers(
    const std::string& mailbox, std::uint32_t uid, const std::vector<std::string>& fields,
    clock::time_point deadline) {
  auto self = impl_;
  imap_result<fetched_headers> out;
  std::string section = "HEADER.FIELDS (";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (!valid_field_name(fields[i])) {
      out.status = {imap_error::protocol_error, "fetch: bad header field name"};
      co_return out;
    }
    if (i) section.push_back(' ');
    section += fields[i];
  }
  section.push_back(')');
  if (fields.empty() || uid == 0 || mailbox.empty()) {
    out.status = {imap_error::protocol_error, "fetch: no fields, uid or mailbox"};
    co_return out;
  }
  auto r = co_await self->perform("/" + escape_path(mailbox) + "/;UID=" + std::to_string(uid) +
                                      "/;SECTION=" + escape_path(section),
                                  "", deadline);
  out.status = r.status;
  if (!r.ok()) co_return out;
  out.value.bytes = r.value.size();
  out.value.headers = parse_header_block(r.value, self->opt.max_results);
  co_return out;
}

asio::awaitable<imap_status> imap_client::delete_messages(const std::string& mailbox,
                                                          const std::vector<std::uint32_t>& uids,
                                                          clock::time_point deadline) {
  auto self = impl_;
  if (uids.empty()) co_return imap_status{};
  if (mailbox.empty()) co_return imap_status{imap_error::protocol_error, "delete: no mailbox"};
  std::string set = uid_set(uids);
  std::string path = "/" + escape_path(mailbox);
  auto stored = co_await self->perform(path, "UID STORE " + set + " +FLAGS.SILENT (\\Deleted)",
                                       deadline);
  if (!stored.ok()) co_return stored.status;
  auto expunged = co_await self->perform(path, "UID EXPUNGE " + set, deadline);
  if (!expunged.ok() && expunged.status.error == imap_error::protocol_error)
    expunged.status.detail = "UID EXPUNGE failed (does the server lack UIDPLUS?): " +
                             expunged.status.detail;
  co_return expunged.status;
}

}  // namespace smtp_exporter::probes::imap
