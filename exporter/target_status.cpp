#include "exporter/target_status.hpp"

namespace smtp_exporter::exporter {

void target_status::record(const probes::session_result& result, double end_timestamp) {
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    const auto& outcome = result.probes[i];
    if (!outcome.ran) continue;
    auto& p = probes[i];
    p.has_result = true;
    p.reason = outcome.reason;
    p.reply_code = outcome.reply_code;
    p.enhanced_code = outcome.enhanced_code;
    p.policy_rejected = outcome.policy_rejected;
    p.last_run_timestamp = end_timestamp;
    ++p.runs_total;
    if (outcome.reason != probes::failure_reason::none) {
      ++p.failures_total[static_cast<std::size_t>(outcome.reason)];
      ++p.consecutive_failures;
    } else {
      p.consecutive_failures = 0;
    }
  }
  for (std::size_t i = 0; i < probes::phase_count; ++i) {
    if (result.phase_seconds[i] >= 0) phase_seconds[i] = result.phase_seconds[i];
  }
  last_duration_seconds = result.total_seconds;
  last_run_timestamp = end_timestamp;
  if (result.ehlo_seen) {
    ehlo = result.ehlo;
    ehlo_seen = true;
  }
  greeting = result.greeting;
  detail = result.detail;
  peer_address = result.peer_address;
  if (result.ip_protocol != 0) ip_protocol = result.ip_protocol;
  transcript = std::make_shared<const std::vector<std::string>>(result.transcript);
  if (result.tls_seen) {
    tls_seen = true;
    tls = result.tls;
  }
}

void status_store::set_targets(const std::vector<std::shared_ptr<const config::target>>& targets) {
  std::map<std::string, std::shared_ptr<const target_status>, std::less<>> next;
  std::lock_guard lock(mutex_);
  for (const auto& t : targets) {
    auto it = targets_.find(t->name);
    auto status = std::make_shared<target_status>();
    if (it != targets_.end() && *it->second->config == *t) *status = *it->second;
    status->config = t;
    next.emplace(t->name, std::move(status));
  }
  targets_ = std::move(next);
}

void status_store::record(const std::shared_ptr<const config::target>& target,
                          const probes::session_result& result, double end_timestamp) {
  std::shared_ptr<const target_status> current;
  {
    std::lock_guard lock(mutex_);
    auto it = targets_.find(target->name);
    if (it == targets_.end() || it->second->config != target) return;
    current = it->second;
  }
  // Build the next record outside the lock; only the runner of this target records it, so the
  // record cannot change meanwhile except by set_targets(), which the check below catches.
  auto next = std::make_shared<target_status>(*current);
  next->record(result, end_timestamp);
  std::lock_guard lock(mutex_);
  auto it = targets_.find(target->name);
  if (it != targets_.end() && it->second == current) it->second = std::move(next);
}

std::vector<std::shared_ptr<const target_status>> status_store::shared_snapshot() const {
  std::vector<std::shared_ptr<const target_status>> out;
  std::lock_guard lock(mutex_);
  out.reserve(targets_.size());
  for (const auto& [name, status] : targets_) out.push_back(status);
  return out;
}

std::vector<target_status> status_store::snapshot() const {
  auto shared = shared_snapshot();
  std::vector<target_status> out;
  out.reserve(shared.size());
  for (const auto& s : shared) out.push_back(*s);
  return out;
}

std::optional<target_status> status_store::find(std::string_view name) const {
  std::shared_ptr<const target_status> found;
  {
    std::lock_guard lock(mutex_);
    auto it = targets_.find(name);
    if (it == targets_.end()) return std::nullopt;
    found = it->second;
  }
  return *found;
}

std::size_t status_store::size() const {
  std::lock_guard lock(mutex_);
  return targets_.size();
}

}  // namespace smtp_exporter::exporter
