#include "exporter/app/probe_limits.hpp"

#include <algorithm>
#include <cmath>

namespace smtp_exporter::exporter {

bool probe_rate_limiter::try_take(clock::time_point now) {
  if (per_minute_ == 0) return true;
  const double capacity = static_cast<double>(per_minute_);
  if (tokens_ < 0) {
    tokens_ = capacity;
  } else {
    const double minutes = std::chrono::duration<double>(now - last_).count() / 60.0;
    tokens_ = std::min(capacity, tokens_ + minutes * capacity);
  }
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

long probe_rate_limiter::retry_after_seconds(clock::time_point now) const {
  if (per_minute_ == 0 || tokens_ < 0) return 1;
  const double minutes = std::chrono::duration<double>(now - last_).count() / 60.0;
  const double have = tokens_ + minutes * static_cast<double>(per_minute_);
  const double missing = std::max(0.0, 1.0 - have);
  return std::max(1L, static_cast<long>(std::ceil(missing * 60.0 / static_cast<double>(per_minute_))));
}

const probe_answer_cache::answer* probe_answer_cache::fresh(
    const std::string& key, clock::time_point now, std::chrono::milliseconds min_interval) const {
  if (min_interval.count() <= 0) return nullptr;
  auto it = answers_.find(key);
  if (it == answers_.end() || now - it->second.at >= min_interval) return nullptr;
  return &it->second;
}

void probe_answer_cache::store(const std::string& key, std::shared_ptr<const std::string> body,
                               clock::time_point now) {
  if (answers_.size() >= max_entries && !answers_.contains(key)) {
    auto oldest = std::min_element(answers_.begin(), answers_.end(), [](const auto& a, const auto& b) {
      return a.second.at < b.second.at;
    });
    answers_.erase(oldest);
  }
  answers_[key] = answer{std::move(body), now};
}

}  // namespace smtp_exporter::exporter
