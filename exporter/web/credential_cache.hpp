// Basic-auth credentials that passed a bcrypt check, remembered so that a scraper pays one bcrypt
// (tens of ms on a thread of its own) per web-config load, not one per scrape, and so that a flood
// of wrong passwords, which keeps that thread busy, cannot keep a verified scraper out.
//
// - Keyed by an HMAC-SHA256 of the Authorization header's value under a key drawn at random when
//   the cache is made (never the plaintext, nor an unkeyed hash of it that a memory dump could be
//   checked against offline).
// - Sliding: an entry lives `idle_ttl` from its last use, so a scraper every 15 s (or 5 min) never
//   needs a second bcrypt while the web config stays the same.
// - Bounded: at `capacity` the least recently used entry goes. Only a right password makes an
//   entry, so a guesser cannot fill it.
// - The owner clears it when the web config is re-read (a changed or removed user must not stay
//   in; web_security.hpp).
//
// Thread-safety: none; the owner (web_security) guards it with its mutex.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace smtp_exporter::exporter {

class credential_cache {
 public:
  using clock = std::chrono::steady_clock;
  credential_cache(std::chrono::seconds idle_ttl, std::size_t capacity);
  ~credential_cache();
  credential_cache(const credential_cache&) = delete;
  credential_cache& operator=(const credential_cache&) = delete;

  // True when `authorization` was remembered and used within idle_ttl; the use refreshes it.
  bool use(std::string_view authorization, clock::time_point now);
  void remember(std::string_view authorization, clock::time_point now);
  void clear();
  std::size_t size() const { return index_.size(); }

 private:
  std::string key_of(std::string_view authorization) const;

  std::chrono::seconds idle_ttl_;
  std::size_t capacity_;
  std::array<unsigned char, 32> hmac_key_{};
  struct entry {
    std::string key;
    clock::time_point last_used;
  };
  std::list<entry> by_use_;  // most recently used first
  std::unordered_map<std::string, std::list<entry>::iterator> index_;
};

}  // namespace smtp_exporter::exporter
