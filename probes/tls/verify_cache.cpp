#include "probes/tls/verify_cache.hpp"

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "probes/tls/facts.hpp"

namespace smtp_exporter::probes {

namespace {

struct chain_free {
  void operator()(STACK_OF(X509) * chain) const noexcept { sk_X509_pop_free(chain, X509_free); }
};
using chain_ptr = std::unique_ptr<STACK_OF(X509), chain_free>;

class verify_cache {
 public:
  explicit verify_cache(std::size_t max_entries) : max_entries_(max_entries) {}

  // A new reference to the verified chain stored for `key`, or null.
  chain_ptr find(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = chains_.find(key);
    if (it == chains_.end()) return nullptr;
    return chain_ptr(X509_chain_up_ref(it->second.get()));
  }

  void insert(std::string key, STACK_OF(X509) * verified) {
    chain_ptr copy(X509_chain_up_ref(verified));
    if (!copy || max_entries_ == 0) return;
    std::lock_guard lock(mutex_);
    if (chains_.contains(key)) return;
    if (chains_.size() >= max_entries_) {  // oldest first: simple, and bounded
      chains_.erase(order_.front());
      order_.pop_front();
    }
    order_.push_back(key);
    chains_.emplace(std::move(key), std::move(copy));
  }

  void count(bool hit) {
    std::lock_guard lock(mutex_);
    ++(hit ? stats_.hits : stats_.misses);
  }

  verify_cache_stats stats() {
    std::lock_guard lock(mutex_);
    auto s = stats_;
    s.entries = chains_.size();
    return s;
  }

 private:
  std::mutex mutex_;
  const std::size_t max_entries_;
  std::unordered_map<std::string, chain_ptr> chains_;
  std::deque<std::string> order_;
  verify_cache_stats stats_;
};

void free_cache(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<verify_cache*>(ptr);
}

int cache_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_cache);
  return index;
}

// Every sent certificate's DER, each behind its length: the exact bytes, never a digest.
bool chain_key(STACK_OF(X509) * sent, std::string& key) {
  for (int i = 0; i < sk_X509_num(sent); ++i) {
    int len = i2d_X509(sk_X509_value(sent, i), nullptr);
    if (len <= 0) return false;
    key.append(reinterpret_cast<const char*>(&len), sizeof len);
    std::size_t at = key.size();
    key.resize(at + static_cast<std::size_t>(len));
    auto* out = reinterpret_cast<unsigned char*>(key.data() + at);
    if (i2d_X509(sk_X509_value(sent, i), &out) != len) return false;
  }
  return !key.empty();
}

// What X509_verify_cert() checks that depends on more than (sent chain, trust store): the time
// and the expected identity. True only when a full verification would find no error in them.
bool still_valid_for(X509_STORE_CTX* ctx, STACK_OF(X509) * verified) {
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
  constexpr unsigned long unsupported = X509_V_FLAG_USE_CHECK_TIME | X509_V_FLAG_NO_CHECK_TIME |
                                        X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL;
  if (X509_VERIFY_PARAM_get_flags(param) & unsupported) return false;
  if (X509_VERIFY_PARAM_get0_email(param) != nullptr) return false;
  for (int i = 0; i < sk_X509_num(verified); ++i) {
    X509* cert = sk_X509_value(verified, i);
    if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) return false;
    if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) return false;
  }
  X509* leaf = X509_STORE_CTX_get0_cert(ctx);
  if (X509_VERIFY_PARAM_get0_host(param, 0) != nullptr) {
    bool matched = false;
    const unsigned int flags = X509_VERIFY_PARAM_get_hostflags(param);
    for (int i = 0; const char* host = X509_VERIFY_PARAM_get0_host(param, i); ++i) {
      if (X509_check_host(leaf, host, 0, flags, nullptr) == 1) {
        matched = true;
        break;
      }
    }
    if (!matched) return false;
  }
  if (char* ip = X509_VERIFY_PARAM_get1_ip_asc(param)) {
    bool matched = X509_check_ip_asc(leaf, ip, 0) == 1;
    OPENSSL_free(ip);
    if (!matched) return false;
  }
  return true;
}

int verify_through_cache(X509_STORE_CTX* ctx, void* arg) {
  auto* cache = static_cast<verify_cache*>(arg);
  std::string key;
  STACK_OF(X509)* sent = X509_STORE_CTX_get0_untrusted(ctx);
  if (sent && X509_STORE_CTX_get0_cert(ctx) && chain_key(sent, key)) {
    if (chain_ptr verified = cache->find(key); verified && still_valid_for(ctx, verified.get())) {
      cache->count(true);
      // As X509_verify_cert() leaves it: error X509_V_OK and the chain up to the trust anchor.
      X509_STORE_CTX_set0_verified_chain(ctx, verified.release());
      return 1;
    }
  }
  cache->count(false);
  auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const verify_errors* recorded = recorded_verify_errors(ssl);
  const std::size_t errors_before = recorded ? recorded->codes.size() : 0;
  const int ok = X509_verify_cert(ctx);
  // The verify callback keeps going after errors (they are recorded, not enforced), so success
  // is ok == 1, no error left behind *and* none recorded on the way.
  const bool clean = ok == 1 && X509_STORE_CTX_get_error(ctx) == X509_V_OK &&
                     (recorded == nullptr || recorded->codes.size() == errors_before);
  if (clean && !key.empty()) {
    if (STACK_OF(X509)* verified = X509_STORE_CTX_get0_chain(ctx)) cache->insert(std::move(key), verified);
  }
  return ok;
}

}  // namespace

void install_verify_cache(SSL_CTX* ctx, std::size_t max_entries) {
  auto* cache = new verify_cache(max_entries);
  if (SSL_CTX_set_ex_data(ctx, cache_index(), cache) != 1) {
    delete cache;  // without the cache, verification is simply OpenSSL's own
    return;
  }
  SSL_CTX_set_cert_verify_callback(ctx, verify_through_cache, cache);
}

verify_cache_stats verify_cache_stats_of(SSL_CTX* ctx) {
  auto* cache = static_cast<verify_cache*>(SSL_CTX_get_ex_data(ctx, cache_index()));
  return cache ? cache->stats() : verify_cache_stats{};
}

}  // namespace smtp_exporter::probes
