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
    p.last_run_timestamp = end_timestamp;
    ++p.runs_total;
    if (outcome.reason != probes::failure_reason::none) {
      ++p.failures_total[static_cast<std::size_t>(outcome.reason)];
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
  std::map<std::string, target_status, std::less<>> next;
  std::lock_guard lock(mutex_);
  for (const auto& t : targets) {
    auto it = targets_.find(t->name);
    if (it != targets_.end() && *it->second.config == *t) {
      auto& kept = next[t->name] = std::move(it->second);
      kept.config = t;
    } else {
      next[t->name].config = t;
    }
  }
  targets_ = std::move(next);
}

void status_store::record(const std::shared_ptr<const config::target>& target,
                          const probes::session_result& result, double end_timestamp) {
  std::lock_guard lock(mutex_);
  auto it = targets_.find(target->name);
  if (it == targets_.end() || it->second.config != target) return;
  it->second.record(result, end_timestamp);
}

std::vector<target_status> status_store::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<target_status> out;
  out.reserve(targets_.size());
  for (const auto& [name, status] : targets_) out.push_back(status);
  return out;
}

std::optional<target_status> status_store::find(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto it = targets_.find(name);
  if (it == targets_.end()) return std::nullopt;
  return it->second;
}

std::size_t status_store::size() const {
  std::lock_guard lock(mutex_);
  return targets_.size();
}

}  // namespace smtp_exporter::exporter
