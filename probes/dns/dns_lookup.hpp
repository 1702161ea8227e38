// What SPF, DMARC and reverse DNS ask the DNS through: an interface (tests substitute scripted
// answers), the plain adapter over dns_resolver, and an answer cache shared by every check of
// a kind, so 4 egress IPs x 10 sender domains ask each domain's records once per TTL rather than
// once per IP.
//
// Thread-safety: every class here belongs to one executor (the resolver's); call query() from it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "probes/dns/resolver.hpp"

namespace smtp_exporter::probes {

class dns_lookup {
 public:
  virtual ~dns_lookup() = default;
  // The records of `type` at `name` (absolute, without the trailing dot), by `deadline`.
  virtual boost::asio::awaitable<dns_answer> query(
      std::string name, dns_record_type type, std::chrono::steady_clock::time_point deadline) = 0;
};

// Every query goes to the resolver; the resolver must outlive this.
class resolver_dns_lookup final : public dns_lookup {
 public:
  explicit resolver_dns_lookup(dns_resolver& resolver) : resolver_(resolver) {}
  boost::asio::awaitable<dns_answer> query(std::string name, dns_record_type type,
                                           std::chrono::steady_clock::time_point deadline) override;

 private:
  dns_resolver& resolver_;
};

struct dns_cache_options {
  std::size_t max_entries = 10000;      // the least recently used entry goes first
  std::chrono::seconds min_ttl{0};      // an answer is kept at least this long...
  std::chrono::seconds max_ttl{3600};   // ...and at most this long, whatever its TTL
  std::chrono::seconds negative_ttl{300};  // NXDOMAIN and NODATA (RFC 2308 says at most the
                                           // SOA minimum; the server's SOA is not read here)
};

struct dns_cache_stats {
  std::uint64_t queries_sent = 0;  // asked of the upstream lookup
  std::uint64_t cache_hits = 0;    // answered from a kept answer
  std::uint64_t joined = 0;        // answered by a query already in flight for the same question
  std::size_t entries = 0;
};

// An answer cache keyed by (name, type), names compared without case and trailing dot. ok
// answers are kept for their TTL clamped to [min_ttl, max_ttl]; NXDOMAIN and NODATA for
// negative_ttl; errors (timeout, SERVFAIL, REFUSED, unreachable, failure) are never kept. A
// question asked while the same question is in flight waits for that answer (until its own
// deadline) instead of asking again; it then shares that query's fate, a timeout included.
// It must outlive the queries it has in flight (as the resolver it asks must).
class cached_dns_lookup final : public dns_lookup {
 public:
  using clock_function = std::function<std::chrono::steady_clock::time_point()>;
  // `upstream` must outlive this. `now` is injectable for tests (default: steady_clock::now).
  cached_dns_lookup(dns_lookup& upstream, dns_cache_options options = {},
                    clock_function now = {});
  ~cached_dns_lookup() override;
  cached_dns_lookup(const cached_dns_lookup&) = delete;
  cached_dns_lookup& operator=(const cached_dns_lookup&) = delete;

  boost::asio::awaitable<dns_answer> query(std::string name, dns_record_type type,
                                           std::chrono::steady_clock::time_point deadline) override;

  dns_cache_stats stats() const;
  void clear();

 private:
  struct entry {
    std::string key;
    dns_answer answer;
    std::chrono::steady_clock::time_point expires;
  };
  struct in_flight;

  std::chrono::steady_clock::time_point now() const;
  const dns_answer* find(const std::string& key);
  void store(const std::string& key, const dns_answer& answer);

  dns_lookup& upstream_;
  dns_cache_options options_;
  clock_function now_;
  std::list<entry> lru_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
  std::unordered_map<std::string, std::shared_ptr<in_flight>> in_flight_;
  dns_cache_stats stats_;
};

// "example.com" for "Example.COM." : the form names are compared and cached in.
std::string normalized_dns_name(std::string_view name);

}  // namespace smtp_exporter::probes
