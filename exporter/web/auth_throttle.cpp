#include "exporter/web/auth_throttle.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>

namespace smtp_exporter::exporter {

std::string auth_throttle::source_of(const boost::asio::ip::address& peer) {
  if (peer.is_v4()) return peer.to_v4().to_string();
  const auto v6 = peer.to_v6();
  if (v6.is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  }
  auto bytes = v6.to_bytes();
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

void auth_throttle::refill(entry& e, clock::time_point now) const {
  if (now <= e.updated) return;
  const double gained = std::chrono::duration<double>(now - e.updated) /
                        std::chrono::duration<double>(settings_.refill_every);
  e.tokens = std::min(settings_.failure_burst, e.tokens + gained);
  e.updated = now;
}

auth_throttle::entry& auth_throttle::entry_of(const std::string& source, clock::time_point now) {
  if (auto it = sources_.find(source); it != sources_.end()) return it->second;
  if (sources_.size() >= settings_.max_sources) {
    // Forget the sources that are as good as new: a full bucket and nothing pending.
    for (auto it = sources_.begin(); it != sources_.end();) {
      refill(it->second, now);
      const bool as_new = it->second.pending == 0 && it->second.tokens >= settings_.failure_burst;
      it = as_new ? sources_.erase(it) : std::next(it);
    }
  }
  if (sources_.size() >= settings_.max_sources) {
    if (!overflow_started_) {
      overflow_ = entry{settings_.failure_burst, now, 0};
      overflow_started_ = true;
    }
    return overflow_;
  }
  return sources_.emplace(source, entry{settings_.failure_burst, now, 0}).first->second;
}

auth_throttle::admission auth_throttle::admit(const std::string& source, clock::time_point now) {
  entry& e = entry_of(source, now);
  refill(e, now);
  if (e.tokens < 1) {
    const double wait = (1 - e.tokens) * std::chrono::duration<double>(settings_.refill_every).count();
    return {false, std::max(1L, static_cast<long>(std::ceil(wait)))};
  }
  if (e.pending >= settings_.pending_per_source) return {false, 1};
  ++e.pending;
  return {true, 0, &e};
}

void auth_throttle::finished(const admission& admitted, bool failed, clock::time_point now) {
  entry* e = admitted.slot;
  if (e == nullptr) return;
  refill(*e, now);
  if (e->pending > 0) --e->pending;
  if (failed) e->tokens = std::max(0.0, e->tokens - 1);
}

}  // namespace smtp_exporter::exporter
