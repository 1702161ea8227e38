// What keeps a credentialed /probe module from being driven into an account lock-out or a
// penalised egress IP (attack review, finding 2: four clients drove 7,305 authenticated AUTH
// sessions in 10 s through max_concurrent = 4, which bounds concurrency, not rate):
// - probe_rate_limiter: at most N sessions start per minute in a module (a token bucket refilled
//   continuously, N at most at once); over it, /probe answers 429 with Retry-After.
// - probe_answer_cache: a /probe of the same HOST:PORT within the module's min_interval gets the
//   last run's answer instead of a new session (bounded: the oldest entries go first).
//
// Thread-safety: none; used on the probe endpoint's executor only.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace smtp_exporter::exporter {

class probe_rate_limiter {
 public:
  using clock = std::chrono::steady_clock;
  explicit probe_rate_limiter(std::size_t per_minute) : per_minute_(per_minute) {}
  // Takes one session's token; false when the module is over its rate (0: never).
  bool try_take(clock::time_point now);
  // Seconds until a token is there again (at least 1).
  long retry_after_seconds(clock::time_point now) const;
  std::size_t per_minute() const { return per_minute_; }

 private:
  std::size_t per_minute_;
  double tokens_ = -1;  // negative until first used: starts full
  clock::time_point last_{};
};

class probe_answer_cache {
 public:
  using clock = std::chrono::steady_clock;
  static constexpr std::size_t max_entries = 4096;

  struct answer {
    std::shared_ptr<const std::string> body;  // shared with the answers made from it
    clock::time_point at;
  };
  // The last answer for `key` when younger than `min_interval`.
  const answer* fresh(const std::string& key, clock::time_point now,
                      std::chrono::milliseconds min_interval) const;
  void store(const std::string& key, std::shared_ptr<const std::string> body,
             clock::time_point now);

 private:
  std::map<std::string, answer> answers_;
};

}  // namespace smtp_exporter::exporter
