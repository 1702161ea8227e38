#include "probes/dns/dns_lookup.hpp"
#include "common/ascii.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace smtp_exporter::probes {

namespace asio = boost::asio;
using steady_clock = std::chrono::steady_clock;

namespace {

std::string cache_key(const std::string& name, dns_record_type type) {
  return name + '\0' + std::to_string(static_cast<unsigned>(type));
}

dns_answer failed(dns_answer::status outcome, std::string error) {
  dns_answer a;
  a.outcome = outcome;
  a.error = std::move(error);
  return a;
}

}  // namespace

std::string normalized_dns_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return ascii_lower(name);
}

asio::awaitable<dns_answer> resolver_dns_lookup::query(std::string name, dns_record_type type,
                                                       steady_clock::time_point deadline) {
  co_return co_await resolver_.query(std::move(name), type, deadline);
}

// The question being asked upstream, and the timers of the coroutines waiting for its answer.
struct cached_dns_lookup::in_flight {
  std::optional<dns_answer> answer;
  std::vector<asio::steady_timer*> waiters;
  void wake() {
    for (auto* timer : waiters) timer->cancel();
  }
};

cached_dns_lookup::cached_dns_lookup(dns_lookup& upstream, dns_cache_options options,
                                     clock_function now)
    : upstream_(upstream), options_(options), now_(std::move(now)) {}

cached_dns_lookup::~cached_dns_lookup() = default;

steady_clock::time_point cached_dns_lookup::now() const {
  return now_ ? now_() : steady_clock::now();
}

dns_cache_stats cached_dns_lookup::stats() const {
  dns_cache_stats s = stats_;
  s.entries = index_.size();
  return s;
}

void cached_dns_lookup::clear() {
  lru_.clear();
  index_.clear();
}

const dns_answer* cached_dns_lookup::find(const std::string& key) {
  const auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  if (it->second->expires <= now()) {
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->answer;
}

void cached_dns_lookup::store(const std::string& key, const dns_answer& answer) {
  using s = dns_answer::status;
  std::chrono::seconds keep{0};
  if (answer.outcome == s::ok) {
    keep = std::clamp<std::chrono::seconds>(std::chrono::seconds(answer.ttl), options_.min_ttl,
                                            std::max(options_.min_ttl, options_.max_ttl));
  } else if (answer.outcome == s::nxdomain || answer.outcome == s::nodata) {
    keep = options_.negative_ttl;
  }
  if (keep.count() <= 0 || options_.max_entries == 0) return;
  const auto expires = now() + keep;
  if (const auto it = index_.find(key); it != index_.end()) {
    it->second->answer = answer;
    it->second->expires = expires;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(entry{key, answer, expires});
  index_.emplace(key, lru_.begin());
  while (index_.size() > options_.max_entries) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

asio::awaitable<dns_answer> cached_dns_lookup::query(std::string name, dns_record_type type,
                                                     steady_clock::time_point deadline) {
  name = normalized_dns_name(name);
  const std::string key = cache_key(name, type);
  if (const dns_answer* kept = find(key)) {
    ++stats_.cache_hits;
    co_return *kept;
  }
  if (const auto it = in_flight_.find(key); it != in_flight_.end()) {
    ++stats_.joined;
    const std::shared_ptr<in_flight> flight = it->second;
    asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
    flight->waiters.push_back(&timer);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    std::erase(flight->waiters, &timer);
    if (flight->answer) co_return *flight->answer;
    if (ec == asio::error::operation_aborted) {
      co_return failed(dns_answer::status::failure, "cancelled");
    }
    co_return failed(dns_answer::status::timeout, "deadline exceeded");
  }
  const auto flight = std::make_shared<in_flight>();
  in_flight_.emplace(key, flight);
  ++stats_.queries_sent;
  dns_answer answer;
  try {
    answer = co_await upstream_.query(name, type, deadline);
  } catch (...) {
    in_flight_.erase(key);
    flight->answer = failed(dns_answer::status::failure, "lookup failed");
    flight->wake();
    throw;
  }
  in_flight_.erase(key);
  store(key, answer);
  flight->answer = answer;
  flight->wake();
  co_return answer;
}

}  // namespace smtp_exporter::probes
