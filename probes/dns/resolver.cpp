#include "probes/dns/resolver.hpp"

#include "common/ascii.hpp"
#include "common/numeric_host.hpp"
#include "probes/dns/dns_message.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ares.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <utility>

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smtp_exporter::probes {

namespace asio = boost::asio;

namespace {

using steady_clock = std::chrono::steady_clock;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (const int rc = ares_library_init(ARES_LIB_INIT_ALL); rc != ARES_SUCCESS) {
      // Not marking the flag lets a later resolver try again.
      throw std::runtime_error(std::string("c-ares library init failed: ") + ares_strerror(rc));
    }
  });
}

template <typename Result>
Result failed(typename Result::status outcome, std::string error);

resolve_result failure(std::string error) {
  return failed<resolve_result>(resolve_result::status::failure, std::move(error));
}

resolve_result not_found(std::string error) {
  return failed<resolve_result>(resolve_result::status::not_found, std::move(error));
}

// RFC 6761 6.4: "invalid." never exists, so asking a server would only cost a round trip (or a
// timeout where no server is reachable) to learn that.
bool is_reserved_invalid(std::string_view host) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  constexpr std::string_view label = "invalid";
  if (host.size() < label.size()) return false;
  const std::string_view tail = host.substr(host.size() - label.size());
  for (std::size_t i = 0; i < label.size(); ++i) {
    if (ascii_lower(tail[i]) != label[i]) return false;
  }
  return host.size() == label.size() || host[host.size() - label.size() - 1] == '.';
}

resolve_result to_result(int status, const ares_addrinfo* info, std::uint16_t port) {
  resolve_result r;
  switch (status) {
    case ARES_SUCCESS:
      break;
    case ARES_ENOTFOUND:
    case ARES_ENODATA:
    case ARES_ENONAME:
      r.outcome = resolve_result::status::not_found;
      r.error = ares_strerror(status);
      return r;
    case ARES_ETIMEOUT:
      r.outcome = resolve_result::status::timeout;
      r.error = ares_strerror(status);
      return r;
    default:
      return failure(ares_strerror(status));
  }
  for (const ares_addrinfo_node* node = info ? info->nodes : nullptr; node; node = node->ai_next) {
    if (node->ai_family == AF_INET && node->ai_addrlen >= sizeof(sockaddr_in)) {
      sockaddr_in sin;
      std::memcpy(&sin, node->ai_addr, sizeof sin);
      r.endpoints.emplace_back(asio::ip::address_v4(ntohl(sin.sin_addr.s_addr)), port);
    } else if (node->ai_family == AF_INET6 && node->ai_addrlen >= sizeof(sockaddr_in6)) {
      sockaddr_in6 sin6;
      std::memcpy(&sin6, node->ai_addr, sizeof sin6);
      asio::ip::address_v6::bytes_type bytes;
      std::memcpy(bytes.data(), sin6.sin6_addr.s6_addr, bytes.size());
      r.endpoints.emplace_back(asio::ip::address_v6(bytes, sin6.sin6_scope_id), port);
    }
  }
  if (r.endpoints.empty()) return not_found("no addresses");
  r.outcome = resolve_result::status::ok;
  return r;
}

template <typename Result>
Result failed(typename Result::status outcome, std::string error) {
  Result r;
  r.outcome = outcome;
  r.error = std::move(error);
  return r;
}

// One resolve() or query() in flight. The c-ares callback, the deadline timer and the
// cancellation handler all hold it; the first to complete it wins and the later ones find done_
// set. It never points back at the resolver, so any of them may run after the resolver or the
// coroutine is gone.
template <typename Result>
class pending_query : public std::enable_shared_from_this<pending_query<Result>> {
 public:
  pending_query(const asio::any_io_executor& executor, std::uint16_t port)
      : deadline_(executor), port_(port) {}
  virtual ~pending_query() = default;

  std::uint16_t port() const { return port_; }
  bool done() const { return done_; }

  void start_deadline(steady_clock::time_point deadline) {
    deadline_.expires_at(deadline);
    deadline_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->complete(failed<Result>(Result::status::timeout, "deadline exceeded"));
    });
  }

  // `from_cancellation`: called from inside the cancellation slot's handler, which must not be
  // cleared (destroyed) while it runs.
  void complete(Result r, bool from_cancellation = false) {
    if (done_) return;
    done_ = true;
    deadline_.cancel();
    deliver(std::move(r), from_cancellation);
  }

 protected:
  virtual void deliver(Result r, bool from_cancellation) = 0;

 private:
  asio::steady_timer deadline_;
  std::uint16_t port_;
  bool done_ = false;
};

template <typename Result, typename Handler>
class awaited_query final : public pending_query<Result> {
 public:
  awaited_query(const asio::any_io_executor& executor, std::uint16_t port, Handler handler)
      : pending_query<Result>(executor, port),
        handler_(std::move(handler)),
        work_(asio::get_associated_executor(handler_, executor)),
        slot_(asio::get_associated_cancellation_slot(handler_)) {}

  // Separate from the constructor: the slot's handler needs a weak_ptr to this object.
  void watch_cancellation() {
    if (!slot_.is_connected()) return;
    slot_.template emplace<cancel_handler>(
        std::static_pointer_cast<awaited_query>(this->shared_from_this()));
  }

 private:
  struct cancel_handler {
    explicit cancel_handler(const std::shared_ptr<awaited_query>& q) : target(q) {}
    std::weak_ptr<awaited_query> target;
    void operator()(asio::cancellation_type type) {
      if ((type & (asio::cancellation_type::terminal | asio::cancellation_type::partial |
                   asio::cancellation_type::total)) == asio::cancellation_type::none) {
        return;
      }
      // Abandoning the lookup has no side effect: c-ares finishes it and its answer is dropped.
      if (auto self = target.lock()) {
        self->complete(failed<Result>(Result::status::failure, "cancelled"), true);
      }
    }
  };

  void deliver(Result r, bool from_cancellation) override {
    if (!from_cancellation && slot_.is_connected()) slot_.clear();
    // Always through post: this runs inside c-ares callbacks and the resolver's destructor, where
    // resuming the coroutine could re-enter c-ares or destroy the channel under it.
    auto executor = work_.get_executor();
    asio::post(executor, [handler = std::move(handler_), r = std::move(r),
                          work = std::move(work_)]() mutable { std::move(handler)(std::move(r)); });
  }

  Handler handler_;
  asio::executor_work_guard<asio::associated_executor_t<Handler, asio::any_io_executor>> work_;
  asio::cancellation_slot slot_;
};

// Completes an operation that never started, from its executor (never inline).
template <typename Handler, typename Result>
void post_result(Handler handler, Result r) {
  const auto executor = asio::get_associated_executor(handler);
  asio::post(executor, [handler = std::move(handler), r = std::move(r)]() mutable {
    std::move(handler)(std::move(r));
  });
}

dns_answer::status answer_status(int ares_status) {
  using s = dns_answer::status;
  switch (ares_status) {
    case ARES_SUCCESS: return s::ok;
    case ARES_ENOTFOUND: return s::nxdomain;
    case ARES_ENODATA: return s::nodata;
    case ARES_ESERVFAIL: return s::servfail;
    case ARES_EREFUSED: return s::refused;
    case ARES_ETIMEOUT: return s::timeout;
    case ARES_ECONNREFUSED: return s::unreachable;
    default: return s::failure;
  }
}

}  // namespace

// Drives one c-ares channel from Asio: c-ares reports the sockets it wants watched through the
// socket-state callback, we wait on them and hand readiness back with ares_process_fd, and one
// timer covers c-ares' retransmits. Single-threaded by contract (the resolver's executor).
struct dns_resolver::impl : std::enable_shared_from_this<impl> {
  struct socket_watch {
    socket_watch(const asio::any_io_executor& executor, ares_socket_t socket)
        : descriptor(executor), fd(socket) {}
    asio::posix::stream_descriptor descriptor;
    ares_socket_t fd;
    bool want_read = false;
    bool want_write = false;
    bool read_pending = false;
    bool write_pending = false;
    bool closed = false;  // c-ares closed the fd; the number may already belong to a new socket
  };

  impl(asio::any_io_executor executor, const dns_resolver_options& options)
      : executor_(std::move(executor)), retransmit_timer_(executor_) {
    init_library();
    ares_options opts{};
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS | ARES_OPT_DOMAINS | ARES_OPT_FLAGS;
    opts.sock_state_cb = &impl::on_socket_state;
    opts.sock_state_cb_data = this;
    // Hosts file first, then DNS, whatever nsswitch.conf says: "localhost" must never need DNS.
    char lookups[] = "fb";
    opts.lookups = lookups;
    // Every name is absolute: no search list (resolv.conf's `search`, LOCALDOMAIN) and no
    // HOSTALIASES. With Kubernetes' ndots:5, "allowed.test" was asked as
    // "allowed.test.<namespace>.svc.cluster.local" and the like first, so whoever answered one of
    // those names received a session (and its credentials) meant for the name the allow-list
    // checked (issue 24, finding 3). An empty domain list is c-ares' way to say "none": the
    // options win over resolv.conf and the environment.
    opts.ndomains = 0;
    opts.domains = nullptr;
    opts.flags = ARES_FLAG_NOSEARCH;
    if (options.attempt_timeout.count() > 0) {
      mask |= ARES_OPT_TIMEOUTMS;
      opts.timeout = static_cast<int>(options.attempt_timeout.count());
    }
    if (options.final_error_answers) opts.flags |= ARES_FLAG_NOCHECKRESP;
    if (options.tries > 0) {
      mask |= ARES_OPT_TRIES;
      opts.tries = options.tries;
    }
    std::string resolv_conf = options.resolv_conf;
    if (!resolv_conf.empty()) {
      mask |= ARES_OPT_RESOLVCONF;
      opts.resolvconf_path = resolv_conf.data();
    }
    if (const int rc = ares_init_options(&channel_, &opts, mask); rc != ARES_SUCCESS) {
      throw std::runtime_error(std::string("c-ares init failed: ") + ares_strerror(rc));
    }
    if (!options.servers.empty()) {
      std::string csv;
      for (const auto& server : options.servers) {
        if (!csv.empty()) csv += ',';
        csv += server;
      }
      if (const int rc = ares_set_servers_ports_csv(channel_, csv.c_str()); rc != ARES_SUCCESS) {
        ares_destroy(channel_);
        channel_ = nullptr;
        throw std::invalid_argument("invalid DNS server list \"" + csv + "\": " +
                                    ares_strerror(rc));
      }
    }
  }

  ~impl() { shutdown(); }

  void shutdown() {
    if (!channel_) return;
    // Fails every query with ARES_EDESTRUCTION (their handlers are posted, not run) and reports
    // every socket closed through on_socket_state.
    ares_destroy(channel_);
    channel_ = nullptr;
    retransmit_timer_.cancel();
    for (auto& [fd, watch] : sockets_) forget(*watch);
    sockets_.clear();
  }

  void start(const std::shared_ptr<pending_query<resolve_result>>& q, const std::string& host) {
    ares_addrinfo_hints hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    // Sorting stays on: RFC 6724 order puts addresses this host can route first, which is the
    // order a prober should try them in.
    hints.ai_flags = 0;
    // c-ares calls on_addrinfo exactly once, also on ares_destroy; that call frees this.
    auto* arg = new std::shared_ptr<pending_query<resolve_result>>(q);
    ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &impl::on_addrinfo, arg);
    schedule_timeout();
  }

  struct query_arg {
    std::shared_ptr<pending_query<dns_answer>> query;
    dns_record_type type;
  };

  void start_query(const std::shared_ptr<pending_query<dns_answer>>& q, const std::string& name,
                   dns_record_type type) {
    // c-ares calls on_query exactly once, also on ares_destroy; that call frees this.
    auto* arg = new query_arg{q, type};
#if ARES_VERSION >= 0x011c00
    // c-ares 1.28 (Debian 13 has 1.34) deprecates ares_query for ares_query_dnsrec, which hands
    // over the answer parsed; on_query_record writes it back to wire format, as ares_query itself
    // does there, so that one parser (parse_dns_response) reads every answer on every release.
    ares_query_dnsrec(channel_, name.c_str(), ARES_CLASS_IN, static_cast<ares_dns_rec_type_t>(type),
                      &impl::on_query_record, arg, nullptr);
#else
    constexpr int class_in = 1;
    ares_query(channel_, name.c_str(), class_in, static_cast<int>(type), &impl::on_query, arg);
#endif
    schedule_timeout();
  }

#if ARES_VERSION >= 0x011c00
  static void on_query_record(void* arg, ares_status_t status, std::size_t timeouts,
                              const ares_dns_record_t* record) {
    if (status != ARES_SUCCESS || record == nullptr) {
      on_query(arg, status != ARES_SUCCESS ? status : ARES_EBADRESP, static_cast<int>(timeouts),
               nullptr, 0);
      return;
    }
    unsigned char* wire = nullptr;
    std::size_t length = 0;
    if (ares_dns_write(record, &wire, &length) != ARES_SUCCESS || length > INT_MAX) {
      ares_free_string(wire);
      on_query(arg, ARES_EBADRESP, static_cast<int>(timeouts), nullptr, 0);
      return;
    }
    on_query(arg, ARES_SUCCESS, static_cast<int>(timeouts), wire, static_cast<int>(length));
    ares_free_string(wire);
  }
#endif

  static void on_query(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
    const std::unique_ptr<query_arg> q(static_cast<query_arg*>(arg));
    if (q->query->done()) return;
    if (status != ARES_SUCCESS) {
      q->query->complete(failed<dns_answer>(answer_status(status), ares_strerror(status)));
      return;
    }
    q->query->complete(
        parse_dns_response(abuf, alen > 0 ? static_cast<std::size_t>(alen) : 0, q->type));
  }

  static void on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* info) {
    const std::unique_ptr<std::shared_ptr<pending_query<resolve_result>>> q(
        static_cast<std::shared_ptr<pending_query<resolve_result>>*>(arg));
    const std::unique_ptr<ares_addrinfo, decltype(&ares_freeaddrinfo)> owned(info,
                                                                             &ares_freeaddrinfo);
    if ((*q)->done()) return;
    (*q)->complete(to_result(status, info, (*q)->port()));
  }

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<impl*>(data)->socket_state(fd, readable != 0, writable != 0);
  }

  void socket_state(ares_socket_t fd, bool readable, bool writable) {
    auto it = sockets_.find(fd);
    if (!readable && !writable) {
      // c-ares closes the fd right after this returns.
      if (it != sockets_.end()) {
        forget(*it->second);
        sockets_.erase(it);
      }
      return;
    }
    if (it == sockets_.end()) {
      auto watch = std::make_shared<socket_watch>(executor_, fd);
      boost::system::error_code ec;
      watch->descriptor.assign(fd, ec);
      // Unwatchable (should not happen for a fresh socket): c-ares' own timeouts still end its
      // queries, through the retransmit timer.
      if (ec) return;
      it = sockets_.emplace(fd, std::move(watch)).first;
    }
    it->second->want_read = readable;
    it->second->want_write = writable;
    arm(it->second);
  }

  static void forget(socket_watch& watch) {
    watch.closed = true;
    // release(), not close(): the fd is c-ares'. This also cancels our waits and takes the fd out
    // of epoll before c-ares closes it.
    if (watch.descriptor.is_open()) watch.descriptor.release();
  }

  // Asio's epoll reactor is edge-triggered and does not remember readiness that arrives while no
  // wait is queued; the first wait is therefore queued before c-ares sends anything, and every
  // later one right after ares_process_fd has drained the socket, in the same handler.
  void arm(const std::shared_ptr<socket_watch>& watch) {
    if (watch->want_read && !watch->read_pending) {
      watch->read_pending = true;
      watch->descriptor.async_wait(
          asio::posix::stream_descriptor::wait_read,
          [weak = weak_from_this(), watch](boost::system::error_code ec) {
            watch->read_pending = false;
            if (watch->closed || ec == asio::error::operation_aborted) return;
            if (auto self = weak.lock()) self->process(watch, watch->fd, ARES_SOCKET_BAD);
          });
    }
    if (watch->want_write && !watch->write_pending) {
      watch->write_pending = true;
      watch->descriptor.async_wait(
          asio::posix::stream_descriptor::wait_write,
          [weak = weak_from_this(), watch](boost::system::error_code ec) {
            watch->write_pending = false;
            if (watch->closed || ec == asio::error::operation_aborted) return;
            if (auto self = weak.lock()) self->process(watch, ARES_SOCKET_BAD, watch->fd);
          });
    }
  }

  void process(const std::shared_ptr<socket_watch>& watch, ares_socket_t read_fd,
               ares_socket_t write_fd) {
    if (!channel_) return;
    ares_process_fd(channel_, read_fd, write_fd);
    if (!watch->closed) arm(watch);
    schedule_timeout();
  }

  // One timer for the whole channel. It is only ever moved earlier here; firing too early costs a
  // no-op ares_process_fd, and each firing recomputes the next expiry.
  void schedule_timeout() {
    if (!channel_) return;
    timeval tv{};
    if (!ares_timeout(channel_, nullptr, &tv)) {
      if (timer_armed_) {
        retransmit_timer_.cancel();
        timer_armed_ = false;
      }
      return;
    }
    const auto expiry = steady_clock::now() + std::chrono::seconds(tv.tv_sec) +
                        std::chrono::microseconds(tv.tv_usec);
    if (timer_armed_ && timer_expiry_ <= expiry) return;
    timer_armed_ = true;
    timer_expiry_ = expiry;
    retransmit_timer_.expires_at(expiry);
    retransmit_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      if (ec == asio::error::operation_aborted) return;
      if (auto self = weak.lock()) self->on_retransmit_timer();
    });
  }

  void on_retransmit_timer() {
    timer_armed_ = false;
    if (!channel_) return;
    ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    schedule_timeout();
  }

  asio::any_io_executor executor_;
  ares_channel channel_ = nullptr;
  asio::steady_timer retransmit_timer_;
  bool timer_armed_ = false;
  steady_clock::time_point timer_expiry_{};
  std::unordered_map<ares_socket_t, std::shared_ptr<socket_watch>> sockets_;
};

std::string_view dns_record_type_name(dns_record_type type) {
  switch (type) {
    case dns_record_type::a: return "A";
    case dns_record_type::ptr: return "PTR";
    case dns_record_type::mx: return "MX";
    case dns_record_type::txt: return "TXT";
    case dns_record_type::aaaa: return "AAAA";
  }
  return "?";
}

std::string_view dns_error_class(dns_answer::status status) {
  using s = dns_answer::status;
  switch (status) {
    case s::ok:
    case s::nxdomain:
    case s::nodata: return "";
    case s::servfail: return "servfail";
    case s::refused: return "refused";
    case s::timeout: return "timeout";
    case s::unreachable: return "unreachable";
    case s::failure: break;
  }
  return "dns_error";
}

dns_resolver::dns_resolver(asio::any_io_executor executor)
    : dns_resolver(std::move(executor), dns_resolver_options{}) {}

dns_resolver::dns_resolver(asio::any_io_executor executor, const dns_resolver_options& options)
    : impl_(std::make_shared<impl>(std::move(executor), options)) {}

// Queries in flight fail here; their handlers run later, from the executor.
dns_resolver::~dns_resolver() { impl_->shutdown(); }

asio::awaitable<resolve_result> dns_resolver::resolve(std::string host, std::uint16_t port,
                                                      steady_clock::time_point deadline) {
  // The initiation runs when the awaitable is first awaited, which may be after this resolver
  // is gone: hence the weak pointer.
  auto initiation = [weak = std::weak_ptr<impl>(impl_)](auto handler, std::string host,
                                                        std::uint16_t port,
                                                        steady_clock::time_point deadline) {
    using handler_type = decltype(handler);
    const auto self = weak.lock();
    if (!self || !self->channel_) {
      return post_result(std::move(handler), failure("resolver destroyed"));
    }
    auto q = std::make_shared<awaited_query<resolve_result, handler_type>>(self->executor_, port,
                                                                   std::move(handler));
    if (host.empty() || host.find('\0') != std::string::npos) {
      q->complete(failure("invalid host name"));
      return;
    }
    if (is_reserved_invalid(host)) {
      q->complete(not_found("reserved name (RFC 6761): never exists"));
      return;
    }
    // "0127.0.0.1" is 127.0.0.1 to c-ares (and "127.1" to inet_aton): never a name to look up,
    // whoever let it through (issue 24, finding 5).
    if (is_noncanonical_numeric_host(host)) {
      q->complete(failure("host " + std::string(numeric_host_message)));
      return;
    }
    // Literals never reach c-ares: with AF_UNSPEC, 1.18 lets the failed IPv6 parse of an IPv4
    // literal hide its IPv4 match and sends "127.0.0.1" to the DNS servers before answering.
    boost::system::error_code literal_error;
    if (const auto address = asio::ip::make_address(host, literal_error); !literal_error) {
      resolve_result r;
      r.outcome = resolve_result::status::ok;
      r.endpoints.emplace_back(address, port);
      q->complete(std::move(r));
      return;
    }
    q->watch_cancellation();
    q->start_deadline(deadline);
    self->start(q, host);
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(resolve_result)>(
      std::move(initiation), asio::use_awaitable, std::move(host), port, deadline);
}

asio::awaitable<dns_answer> dns_resolver::query(std::string name, dns_record_type type,
                                               steady_clock::time_point deadline) {
  auto initiation = [weak = std::weak_ptr<impl>(impl_)](auto handler, std::string name,
                                                        dns_record_type type,
                                                        steady_clock::time_point deadline) {
    using handler_type = decltype(handler);
    const auto self = weak.lock();
    if (!self || !self->channel_) {
      return post_result(std::move(handler),
                         failed<dns_answer>(dns_answer::status::failure, "resolver destroyed"));
    }
    auto q = std::make_shared<awaited_query<dns_answer, handler_type>>(self->executor_, 0,
                                                               std::move(handler));
    if (name.empty() || name.find('\0') != std::string::npos) {
      q->complete(failed<dns_answer>(dns_answer::status::failure, "invalid name"));
      return;
    }
    q->watch_cancellation();
    q->start_deadline(deadline);
    self->start_query(q, name, type);
  };
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(dns_answer)>(
      std::move(initiation), asio::use_awaitable, std::move(name), type, deadline);
}

}  // namespace smtp_exporter::probes
