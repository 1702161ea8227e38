#include "exporter/schedule/target_status.hpp"
#include "exporter/schedule/target_key.hpp"

#include <algorithm>
#include <functional>

namespace smtp_exporter::exporter {

std::uint32_t failure_counts::operator[](std::size_t r) const {
  for (const auto& [reason, count] : counts_) {
    if (static_cast<std::size_t>(reason) == r) return count;
  }
  return 0;
}

void failure_counts::add(probes::failure_reason r) {
  auto it = std::lower_bound(counts_.begin(), counts_.end(), r,
                             [](const auto& entry, probes::failure_reason key) { return entry.first < key; });
  if (it != counts_.end() && it->first == r) {
    ++it->second;
  } else {
    counts_.insert(it, {r, 1});
  }
}

std::size_t tls_facts_hash::operator()(const probes::tls_facts& t) const {
  std::hash<std::string> text;
  std::hash<double> number;
  std::size_t seed = text(t.version);
  hash_combine(seed, text(t.cipher));
  for (const auto& c : t.chain) {
    hash_combine(seed, static_cast<std::size_t>(c.depth));
    hash_combine(seed, text(c.subject_cn));
    hash_combine(seed, text(c.issuer_cn));
    hash_combine(seed, number(c.not_before));
    hash_combine(seed, number(c.not_after));
  }
  hash_combine(seed, t.chain_length);
  hash_combine(seed, static_cast<std::size_t>(t.verified) | static_cast<std::size_t>(t.hostname_match) << 1 |
                         static_cast<std::size_t>(t.ocsp_stapled) << 2);
  hash_combine(seed, static_cast<std::size_t>(t.verify_reason));
  hash_combine(seed, text(t.verify_error));
  hash_combine(seed, static_cast<std::size_t>(t.ocsp));
  hash_combine(seed, number(t.ocsp_next_update));
  return seed;
}

namespace {

// One ended run of a probe: its reason and the counters every run moves.
void count_run(probe_status& p, probes::failure_reason reason, double end_timestamp) {
  p.has_result = true;
  p.reason = reason;
  p.last_run_timestamp = end_timestamp;
  ++p.runs_total;
  if (reason != probes::failure_reason::none) {
    p.failures_total.add(reason);
    ++p.consecutive_failures;
  } else {
    p.consecutive_failures = 0;
  }
}

}  // namespace

void target_status::record(const probes::session_result& result, double end_timestamp,
                           record_pool* pool) {
  for (std::size_t i = 0; i < probes::probe_kind_count; ++i) {
    const auto& outcome = result.probes[i];
    if (!outcome.ran) continue;
    auto& p = probes[i];
    count_run(p, outcome.reason, end_timestamp);
    p.reply_code = outcome.reply_code;
    p.enhanced_code = outcome.enhanced_code;
    p.policy_rejected = outcome.policy_rejected;
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
  std::string text;
  std::size_t size = 0;
  for (const auto& line : result.transcript) size += line.size() + 1;
  text.reserve(size);
  for (const auto& line : result.transcript) {
    text += line;
    text += '\n';
  }
  transcript = pool ? pool->transcripts.intern(std::move(text))
                    : std::make_shared<const std::string>(std::move(text));
  if (result.tls_seen) {
    tls_seen = true;
    tls = pool ? pool->tls.intern(result.tls) : std::make_shared<const probes::tls_facts>(result.tls);
  }
  if (result.delivery) {
    auto next = delivery ? std::make_shared<delivery_facts>(*delivery)
                         : std::make_shared<delivery_facts>();
    ++next->messages_sent;
    delivery = std::move(next);
  }
}

void target_status::record_delivery(const delivery_outcome& outcome, double end_timestamp) {
  auto& p = probes[static_cast<std::size_t>(probes::probe_kind::delivery)];
  count_run(p, outcome.reason, end_timestamp);
  p.policy_rejected = false;
  // The imap_* phases replace the last read-back's; a step that did not run shows as not run.
  const probes::phase imap_phases[] = {probes::phase::imap_login, probes::phase::imap_search,
                                       probes::phase::imap_fetch, probes::phase::imap_delete};
  for (std::size_t i = 0; i < std::size(imap_phases); ++i) {
    phase_seconds[static_cast<std::size_t>(imap_phases[i])] = outcome.imap_seconds[i];
  }
  auto next = delivery ? std::make_shared<delivery_facts>(*delivery)
                       : std::make_shared<delivery_facts>();
  next->detail = outcome.detail;
  // An unknown fate (IMAP failed) or a message not found keeps no folder, latency or verdict.
  next->folder = outcome.folder;
  next->latency_seconds = outcome.latency_seconds;
  next->auth_results = outcome.auth_results;
  delivery = std::move(next);
}

status_store::records::const_iterator status_store::find_in(const records& in, target_key key) {
  auto it = std::lower_bound(in.begin(), in.end(), key, [](const auto& record, target_key k) {
    return key_of(*record->config) < k;
  });
  return it != in.end() && key_of(*(*it)->config) == key ? it : in.end();
}

void status_store::set_targets(const std::vector<std::shared_ptr<const config::target>>& targets) {
  records next;
  next.reserve(targets.size());
  std::lock_guard lock(mutex_);
  for (const auto& t : targets) {
    auto it = find_in(targets_, key_of(*t));
    auto status = std::make_shared<target_status>();
    if (it != targets_.end() && *(*it)->config == *t) *status = **it;
    status->config = t;
    next.push_back(std::move(status));
  }
  sort_unique_by_key(next, [](const auto& r) { return key_of(*r->config); });
  targets_ = std::move(next);
}

void status_store::record(const std::shared_ptr<const config::target>& target,
                          const probes::session_result& result, double end_timestamp) {
  std::shared_ptr<const target_status> current;
  {
    std::lock_guard lock(mutex_);
    auto it = find_in(targets_, key_of(*target));
    if (it == targets_.end() || (*it)->config != target) return;
    current = *it;
  }
  // Build the next record outside the lock; only the scheduler's entry for this target records it,
  // so the record cannot change meanwhile except by set_targets(), which the check below catches.
  auto next = std::make_shared<target_status>(*current);
  next->record(result, end_timestamp, &pool_);
  std::lock_guard lock(mutex_);
  auto it = find_in(targets_, key_of(*target));
  if (it != targets_.end() && *it == current) {
    targets_[static_cast<std::size_t>(it - targets_.cbegin())] = std::move(next);
  }
}

void status_store::record_delivery(const std::shared_ptr<const config::target>& target,
                                   const delivery_outcome& outcome, double end_timestamp) {
  // As record(): copy on write, published only if the target is still the same.
  std::lock_guard lock(mutex_);
  auto it = find_in(targets_, key_of(*target));
  if (it == targets_.end() || (*it)->config != target) return;
  auto next = std::make_shared<target_status>(**it);
  next->record_delivery(outcome, end_timestamp);
  targets_[static_cast<std::size_t>(it - targets_.cbegin())] = std::move(next);
}

std::vector<std::shared_ptr<const target_status>> status_store::shared_snapshot() const {
  std::lock_guard lock(mutex_);
  return targets_;
}

std::vector<target_status> status_store::snapshot() const {
  auto shared = shared_snapshot();
  std::vector<target_status> out;
  out.reserve(shared.size());
  for (const auto& s : shared) out.push_back(*s);
  return out;
}

std::optional<target_status> status_store::find(std::string_view name,
                                                config::ip_family family) const {
  std::shared_ptr<const target_status> found;
  {
    std::lock_guard lock(mutex_);
    auto it = find_in(targets_, target_key{name, family});
    if (it == targets_.end()) return std::nullopt;
    found = *it;
  }
  return *found;
}

std::size_t status_store::size() const {
  std::lock_guard lock(mutex_);
  return targets_.size();
}

}  // namespace smtp_exporter::exporter
