// Asynchronous DNS through c-ares, driven by the caller's Asio executor: no thread per lookup and
// no blocking getaddrinfo on the event loop, so 10,000 targets resolve concurrently.
//
// Thread-safety: a resolver belongs to one executor; call resolve() from that executor only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace smtp_exporter::probes {

struct resolve_result {
  enum class status { ok, not_found, timeout, failure };
  status outcome = status::failure;
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;  // IPv4 and IPv6, in c-ares' order
  std::string error;  // c-ares' text when not ok
  bool ok() const { return outcome == status::ok && !endpoints.empty(); }
};

// The record types query() asks for.
enum class dns_record_type : std::uint16_t { a = 1, ptr = 12, mx = 15, txt = 16, aaaa = 28 };

// The answer to one query, as the server gave it: the rcode (through `outcome`) is kept apart
// from the records, so callers can tell "does not exist" from "could not ask". Records reached
// through a CNAME chain in the answer count as the name's own (probes/dns/dns_message.hpp).
struct dns_answer {
  enum class status {
    ok,           // NOERROR with records of the asked type
    nxdomain,     // the name does not exist
    nodata,       // NOERROR, no record of the asked type
    servfail,     // SERVFAIL from every server
    refused,      // REFUSED from every server
    timeout,      // no answer before the deadline (or c-ares' tries ran out)
    unreachable,  // the server's port is closed (ICMP port unreachable)
    failure,      // anything else: FORMERR, malformed answer, cancelled, resolver gone
  };
  status outcome = status::failure;
  std::vector<boost::asio::ip::address> addresses;  // A or AAAA records, in answer order
  std::vector<std::string> texts;  // TXT records, each record's strings concatenated
  // PTR targets in answer order, or MX exchanges by preference: absolute, lower-case, without
  // the trailing dot; a null MX (RFC 7505) is "".
  std::vector<std::string> names;
  // When ok: the smallest TTL of the records (of every type) and of the CNAMEs that led to them.
  std::uint32_t ttl = 0;
  std::string error;  // c-ares' text (or the parser's) when not ok
};

// "A", "PTR", "MX", "TXT", "AAAA": for messages.
std::string_view dns_record_type_name(dns_record_type type);

// The error class of an answer that is not an answer, in the words DNSBL's results use:
// "servfail", "refused", "timeout", "unreachable", or "dns_error" (FORMERR, a malformed answer,
// cancelled, anything else); "" for ok, nxdomain and nodata, which are answers.
std::string_view dns_error_class(dns_answer::status status);

// Overrides of the system's resolver configuration (/etc/resolv.conf); the defaults keep it,
// except its search list, which never applies (every name is absolute).
struct dns_resolver_options {
  // "1.2.3.4", "1.2.3.4:5353", "[::1]:5353"; empty: the system's name servers.
  std::vector<std::string> servers;
  // Time to wait for one answer before retrying (c-ares doubles it per round); zero: the system's.
  std::chrono::milliseconds attempt_timeout{0};
  int tries = 0;  // tries per server; zero: the system's
  // Take SERVFAIL and REFUSED as the answer (query() reports them) instead of retrying and then
  // failing with c-ares 1.18's "could not contact DNS servers", which hides the rcode.
  bool final_error_answers = false;
  // A resolv.conf to read instead of /etc/resolv.conf (tests); empty: the system's.
  std::string resolv_conf;
};

class dns_resolver {
 public:
  // Both throw std::runtime_error if c-ares cannot start, and std::invalid_argument for a
  // malformed entry in options.servers.
  explicit dns_resolver(boost::asio::any_io_executor executor);
  dns_resolver(boost::asio::any_io_executor executor, const dns_resolver_options& options);
  ~dns_resolver();
  dns_resolver(const dns_resolver&) = delete;
  dns_resolver& operator=(const dns_resolver&) = delete;

  // Resolves `host` (a name, "localhost" from /etc/hosts, or a numeric IPv4/IPv6 address) to TCP
  // endpoints with `port`. A name is absolute, with or without its trailing dot: the search list
  // of resolv.conf never applies. Completes by `deadline` at the latest (status::timeout). Honors
  // per-operation cancellation (completes with status::failure, error "cancelled").
  // Names under "invalid." are not_found at once, with no query sent (RFC 6761 section 6.4).
  // Queries still in flight when the resolver is destroyed complete with status::failure.
  boost::asio::awaitable<resolve_result> resolve(std::string host, std::uint16_t port,
                                                 std::chrono::steady_clock::time_point deadline);

  // Asks the servers for records of `type` at `name` (absolute; no search domains, no hosts
  // file). Same deadline, cancellation and destruction rules as resolve().
  boost::asio::awaitable<dns_answer> query(std::string name, dns_record_type type,
                                           std::chrono::steady_clock::time_point deadline);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace smtp_exporter::probes
