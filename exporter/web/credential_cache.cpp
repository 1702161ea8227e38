#include "exporter/web/credential_cache.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace smtp_exporter::exporter {

credential_cache::credential_cache(std::chrono::seconds idle_ttl, std::size_t capacity)
    : idle_ttl_(idle_ttl), capacity_(capacity) {
  if (RAND_bytes(hmac_key_.data(), static_cast<int>(hmac_key_.size())) != 1) {
    throw std::runtime_error("credential cache: no random bytes for its key");
  }
}

credential_cache::~credential_cache() { OPENSSL_cleanse(hmac_key_.data(), hmac_key_.size()); }

std::string credential_cache::key_of(std::string_view authorization) const {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), hmac_key_.data(), static_cast<int>(hmac_key_.size()),
           reinterpret_cast<const unsigned char*>(authorization.data()), authorization.size(),
           digest, &length) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool credential_cache::use(std::string_view authorization, clock::time_point now) {
  const auto key = key_of(authorization);
  auto it = index_.find(key);
  if (key.empty() || it == index_.end()) return false;
  if (now - it->second->last_used > idle_ttl_) {
    by_use_.erase(it->second);
    index_.erase(it);
    return false;
  }
  it->second->last_used = now;
  by_use_.splice(by_use_.begin(), by_use_, it->second);
  return true;
}

void credential_cache::remember(std::string_view authorization, clock::time_point now) {
  auto key = key_of(authorization);
  if (key.empty()) return;
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->last_used = now;
    by_use_.splice(by_use_.begin(), by_use_, it->second);
    return;
  }
  while (!by_use_.empty() && (index_.size() >= capacity_ ||
                              now - by_use_.back().last_used > idle_ttl_)) {
    index_.erase(by_use_.back().key);
    by_use_.pop_back();
  }
  if (capacity_ == 0) return;
  by_use_.push_front(entry{key, now});
  index_.emplace(std::move(key), by_use_.begin());
}

void credential_cache::clear() {
  index_.clear();
  by_use_.clear();
}

}  // namespace smtp_exporter::exporter
