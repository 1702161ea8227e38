// Per-client limits on basic-auth checks, so that a flood of wrong passwords cannot take the
// bcrypt thread from everyone else (issue 24, finding 1). A client is its source address: an IPv4
// address, or an IPv6 /64 (what one host is given; an IPv4-mapped address counts as IPv4).
// - Fairness: at most `pending_per_source` checks of one source wait or run at a time; a check
//   from a source that has none gets a place in the queue even while others flood it (the queue
//   holds at most one check per source, so a new source waits for at most one bcrypt each).
// - Failures cost tokens: each source has a bucket of `failure_burst` tokens, refilled one per
//   `refill_every`; a wrong password takes one. With the bucket empty a request is answered 429,
//   with the seconds until the next token as Retry-After, before any bcrypt is spent. A right
//   password takes nothing.
// - Bounded: at most `max_sources` sources are tracked; when full, those back at a full bucket
//   with nothing pending are forgotten, and if none is, a new source shares one overflow entry
//   (an attack from thousands of addresses then limits itself, and the credential cache keeps a
//   verified scraper in).
// Behind a NAT or a sidecar every client may share one address: an attacker there spends the
// scraper's tokens too, which is why verified credentials are remembered (credential_cache.hpp)
// and checked before these limits.
//
// Thread-safety: none; used on the event loop only (basic_auth.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

namespace smtp_exporter::exporter {

class auth_throttle {
 public:
  using clock = std::chrono::steady_clock;
  struct settings {
    std::size_t pending_per_source = 1;
    double failure_burst = 10;
    std::chrono::milliseconds refill_every{6000};
    std::size_t max_sources = 4096;
  };
  auth_throttle() : auth_throttle(settings{}) {}
  explicit auth_throttle(settings s) : settings_(s) {}

  // The source a limit applies to: "192.0.2.1", "2001:db8:1:2::/64".
  static std::string source_of(const boost::asio::ip::address& peer);

  struct entry {
    double tokens = 0;
    clock::time_point updated;
    std::size_t pending = 0;
  };
  struct admission {
    bool admitted = false;
    // When refused: the seconds to put in Retry-After (at least 1).
    long retry_after_seconds = 0;
    // When admitted: the source's entry, for finished() (an entry with a check pending is never
    // forgotten, so it stays valid).
    entry* slot = nullptr;
  };
  // Whether `source` may start a bcrypt check now; if admitted, finished() must follow.
  admission admit(const std::string& source, clock::time_point now);
  // The admitted check ended; `failed`: a wrong password (it takes a token).
  void finished(const admission& admitted, bool failed, clock::time_point now);

  std::size_t tracked_sources() const { return sources_.size(); }

 private:
  entry& entry_of(const std::string& source, clock::time_point now);
  void refill(entry& e, clock::time_point now) const;

  settings settings_;
  std::unordered_map<std::string, entry> sources_;
  entry overflow_;
  bool overflow_started_ = false;
};

}  // namespace smtp_exporter::exporter
