#include "exporter/dnsbl/runner.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "exporter/dnsbl/diagnose.hpp"
#include "exporter/dnsbl/discovery.hpp"
#include "exporter/dnsbl/metrics.hpp"
#include "exporter/dnsbl/page.hpp"
#include "exporter/dnsbl/resolver.hpp"
#include "exporter/dnsbl/zones.hpp"
#include "exporter/runtime/clock.hpp"
#include "exporter/runtime/log.hpp"
#include "probes/dns/dnsbl_lookup.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using probes::dnsbl_result;

namespace {
constexpr std::size_t max_discovered = 4;

struct subject {
  asio::ip::address ip;
  std::string ip_text;
  std::string target;  // empty: egress
  bool operator<(const subject& o) const {
    return std::tie(target, ip_text) < std::tie(o.target, o.ip_text);
  }
  bool operator==(const subject& o) const { return target == o.target && ip_text == o.ip_text; }
};

struct cache_entry {
  dnsbl_check last;  // ip, zone filled in; target unused
  steady::time_point next_due{};
};

}  // namespace

struct dnsbl_runner::generation {
  struct zone_state {
    zone_state(const asio::any_io_executor& ex, config::dnsbl_zone c)
        : conf(std::move(c)), timer(ex) {}
    config::dnsbl_zone conf;
    std::string query_suffix;   // "KEY.zone" or "zone"; never logged
    std::string setup_error;    // a DQS key that could not be read, a resolver that would not start
    bool key_pending = false;   // the DQS key file is still being read (off the event loop)
    std::shared_ptr<probes::dns_resolver> resolver;
    asio::steady_timer timer;
    std::map<std::string, cache_entry> cache;  // by ip text
    dnsbl_zone_status counters;
  };

  generation(const asio::any_io_executor& ex, const asio::any_io_executor& blocking_ex,
             config::dnsbl_settings s, std::shared_ptr<slot_limiter> limiter)
      : executor(ex), blocking(blocking_ex), settings(std::move(s)), slots(std::move(limiter)),
        discovery_timer(ex), targets_timer(ex) {}

  asio::any_io_executor executor;
  asio::any_io_executor blocking;  // file reads
  config::dnsbl_settings settings;
  // (target name, host) of every target, when check_targets is on.
  std::vector<std::pair<std::string, std::string>> targets;
  std::shared_ptr<slot_limiter> slots;  // the runner's, shared by every generation
  dnsbl_runner* owner = nullptr;
  bool stopped = false;

  std::vector<std::unique_ptr<zone_state>> zones;
  std::vector<subject> egress_configured;
  std::vector<subject> egress_discovered;
  std::vector<subject> target_subjects;

  std::shared_ptr<probes::dns_resolver> discovery_resolver;
  std::shared_ptr<probes::dns_resolver> system_resolver;  // target host names
  std::string discovery_name;
  probes::dns_record_type discovery_type = probes::dns_record_type::a;
  asio::steady_timer discovery_timer;
  asio::steady_timer targets_timer;
  steady::time_point discovery_next_due{};  // kept by a reload that keeps the discovery settings
  bool discovery_has_result = false;
  bool discovery_ok = false;
  std::string discovery_error;
  std::string discovery_detail;
  std::map<std::string, std::uint64_t> discovery_errors_total;
  double egress_last_change_timestamp = 0;

  std::vector<subject> subjects() const {
    std::vector<subject> all = egress_configured;
    for (const auto& s : egress_discovered) {
      if (std::find(all.begin(), all.end(), s) == all.end()) all.push_back(s);
    }
    all.insert(all.end(), target_subjects.begin(), target_subjects.end());
    std::sort(all.begin(), all.end());
    return all;
  }

  void wake_zones() {
    for (auto& z : zones) z->timer.cancel();
  }

  void stop() {
    stopped = true;
    slots->cancel_all();
    discovery_timer.cancel();
    targets_timer.cancel();
    wake_zones();
  }
};

namespace {

using generation = dnsbl_runner::generation;
using zone_state = generation::zone_state;

asio::awaitable<void> lookup(std::shared_ptr<generation> g, zone_state* z, subject s) {
  const bool held = co_await g->slots->acquire();
  slot_guard slot(*g->slots, held);
  if (!held || g->stopped) co_return;
  const auto start = steady::now();
  dnsbl_check check;
  check.ip = s.ip_text;
  check.zone = z->conf.name;
  std::uint32_t ttl = 0;
  if (!z->setup_error.empty()) {
    check.result = dnsbl_result::dns_error;
    check.detail = z->setup_error;
  } else {
    auto r = co_await probes::lookup_dnsbl(*z->resolver, s.ip, z->query_suffix, z->conf.timeout);
    check.result = r.verdict.result;
    check.detail = std::move(r.verdict.detail);
    check.return_codes = std::move(r.verdict.return_codes);
    check.txt = std::move(r.txt);
    ttl = r.ttl;
  }
  check.duration_seconds = std::chrono::duration<double>(steady::now() - start).count();
  check.last_lookup_timestamp = unix_now();
  slot.release();
  if (g->stopped) co_return;

  ++z->counters.lookups_total;
  if (probes::is_error(check.result)) ++z->counters.errors_total[static_cast<std::size_t>(check.result)];
  auto& entry = z->cache[s.ip_text];
  const dnsbl_check previous = entry.last;
  if (probes::is_error(check.result)) {
    // Keep the last answer: an error says nothing about the listing.
    check.has_answer = previous.has_answer;
    check.listed = previous.listed;
    if (check.listed) {
      check.return_codes = previous.return_codes;
      check.txt = previous.txt;
    }
  } else {
    check.has_answer = true;
    check.listed = check.result == dnsbl_result::listed;
  }
  const bool first = previous.zone.empty();
  if (first || previous.result != check.result) {
    const auto result = probes::to_string(check.result);
    const std::initializer_list<log::field> fields{
        {"ip", check.ip}, {"zone", check.zone}, {"result", result}, {"txt", check.txt},
        {"detail", check.detail}};
    // A first "not listed" is the normal case, not news (10,000 target IPs would say it once each).
    if (check.result == dnsbl_result::listed || probes::is_error(check.result)) {
      log::warn("dnsbl lookup", fields);
    } else if (first) {
      log::debug("dnsbl lookup", fields);
    } else {
      log::info("dnsbl lookup", fields);
    }
  }
  // The zone's interval, or longer when the answer's TTL says it stays valid longer (capped);
  // an error is asked again within error_retry.
  entry.next_due = start + probes::dnsbl_keep_for(check.result, ttl, z->conf.interval);
  entry.last = std::move(check);
}

// Waits for every lookup of one round; the last to finish cancels the timer.
struct round_latch {
  explicit round_latch(const asio::any_io_executor& ex) : timer(ex, steady::time_point::max()) {}
  asio::steady_timer timer;
  std::size_t pending = 0;
};

// The zone's query suffix from its DQS key file, read on the blocking executor: a file on a hung
// mount must not hold the event loop (FIFOs, devices and oversized files are refused outright).
asio::awaitable<void> read_zone_key(std::shared_ptr<generation> g, zone_state* z) {
  struct outcome {
    std::optional<std::string> suffix;
    std::string error;
  };
  auto read = [](config::dnsbl_zone zone) -> asio::awaitable<outcome> {
    outcome o;
    o.suffix = dnsbl_query_suffix(zone, o.error);
    co_return o;
  };
  auto o = co_await asio::co_spawn(g->blocking, read(z->conf), asio::use_awaitable);
  z->key_pending = false;
  if (g->stopped) co_return;
  if (o.suffix) {
    z->query_suffix = std::move(*o.suffix);
  } else {
    z->setup_error = o.error;
    log::error("dnsbl zone cannot be queried", {{"zone", z->conf.name}, {"err", o.error}});
  }
}

asio::awaitable<void> run_zone(std::shared_ptr<generation> g, zone_state* z) {
  if (z->key_pending) co_await read_zone_key(g, z);
  while (!g->stopped) {
    const auto now = steady::now();
    const auto subjects = g->subjects();
    std::set<std::string> ips;
    for (const auto& s : subjects) ips.insert(s.ip_text);
    std::erase_if(z->cache, [&](const auto& kv) { return !ips.contains(kv.first); });

    auto latch = std::make_shared<round_latch>(g->executor);
    std::set<std::string> started;
    for (const auto& s : subjects) {
      if (started.contains(s.ip_text)) continue;
      auto it = z->cache.find(s.ip_text);
      if (it != z->cache.end() && it->second.next_due > now) continue;
      started.insert(s.ip_text);
      ++latch->pending;
      asio::co_spawn(g->executor, lookup(g, z, s), [latch](std::exception_ptr) {
        if (--latch->pending == 0) latch->timer.cancel();
      });
    }
    if (!started.empty()) {
      // A lookup may end before the wait starts (stopped at once): then there is nothing to wait.
      while (latch->pending > 0) {
        co_await latch->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      if (g->stopped) break;
      g->owner->publish(*g);
    }

    // Next round: the earliest answer to expire, at once for an IP that appeared meanwhile.
    auto next = steady::now() + z->conf.interval;
    for (const auto& s : g->subjects()) {
      auto it = z->cache.find(s.ip_text);
      next = std::min(next, it == z->cache.end() ? steady::now() : it->second.next_due);
    }
    z->timer.expires_at(next);
    co_await z->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

std::vector<subject> to_subjects(const std::vector<asio::ip::address>& addresses,
                                 const std::string& target) {
  std::vector<subject> out;
  for (const auto& a : addresses) out.push_back({a, a.to_string(), target});
  return out;
}

void set_subjects(generation& g, std::vector<subject>& slot, std::vector<subject> fresh) {
  std::sort(fresh.begin(), fresh.end());
  if (fresh == slot) return;
  slot = std::move(fresh);
  g.wake_zones();
}

asio::awaitable<void> run_discovery(std::shared_ptr<generation> g) {
  const auto& d = g->settings.discovery;
  while (!g->stopped) {
    if (g->discovery_next_due > steady::now()) {
      // A reload kept the last discovery: its next one is due when it was.
      g->discovery_timer.expires_at(g->discovery_next_due);
      co_await g->discovery_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (g->stopped) break;
    }
    auto found = co_await probes::discover_egress(*g->discovery_resolver, g->discovery_name,
                                                  g->discovery_type, d.timeout, max_discovered);
    if (g->stopped) break;
    g->discovery_has_result = true;
    if (!found.addresses.empty()) {
      if (!g->discovery_ok) log::info("egress IP discovered", {{"method", d.method}});
      g->discovery_ok = true;
      g->discovery_error.clear();
      g->discovery_detail.clear();
      auto fresh = to_subjects(found.addresses, "");
      std::sort(fresh.begin(), fresh.end());
      if (!g->egress_discovered.empty() && fresh != g->egress_discovered) {
        g->egress_last_change_timestamp = unix_now();
        std::string before, after;
        for (const auto& s : g->egress_discovered) before += (before.empty() ? "" : ",") + s.ip_text;
        for (const auto& s : fresh) after += (after.empty() ? "" : ",") + s.ip_text;
        log::warn("egress IP changed", {{"from", before}, {"to", after}, {"method", d.method}});
      }
      set_subjects(*g, g->egress_discovered, std::move(fresh));
    } else {
      // The last discovered addresses stay checked: a failed discovery says nothing about them.
      if (g->discovery_ok || g->discovery_error != found.error) {
        log::warn("egress IP discovery failed",
                  {{"method", d.method}, {"reason", found.error}, {"detail", found.detail}});
      }
      g->discovery_ok = false;
      g->discovery_error = found.error;
      g->discovery_detail = found.detail;
      ++g->discovery_errors_total[found.error];
    }
    g->discovery_next_due = steady::now() + d.interval;
    g->owner->publish(*g);
  }
}

asio::awaitable<void> run_target_resolution(std::shared_ptr<generation> g) {
  while (!g->stopped) {
    std::map<std::string, std::vector<asio::ip::address>> by_host;
    for (const auto& [name, host] : g->targets) by_host.try_emplace(host);
    for (auto& [host, addresses] : by_host) {
      const bool held = co_await g->slots->acquire();
      slot_guard slot(*g->slots, held);
      if (!held) co_return;
      auto r = co_await g->system_resolver->resolve(host, 0,
                                                    steady::now() + std::chrono::seconds(10));
      slot.release();
      if (g->stopped) co_return;
      for (const auto& e : r.endpoints) {
        if (addresses.size() >= g->settings.max_target_ips) break;
        if (std::find(addresses.begin(), addresses.end(), e.address()) == addresses.end())
          addresses.push_back(e.address());
      }
    }
    std::vector<subject> fresh;
    for (const auto& [name, host] : g->targets) {
      for (auto& s : to_subjects(by_host[host], name)) fresh.push_back(std::move(s));
    }
    set_subjects(*g, g->target_subjects, std::move(fresh));
    g->owner->publish(*g);
    g->targets_timer.expires_after(g->settings.discovery.interval);
    co_await g->targets_timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

dnsbl_runner::dnsbl_runner(asio::any_io_executor executor, asio::any_io_executor blocking,
                           std::shared_ptr<egress_registry> egress)
    : executor_(std::move(executor)),
      blocking_(std::move(blocking)),
      egress_(std::move(egress)),
      published_(std::make_shared<dnsbl_status>()) {}

dnsbl_runner::~dnsbl_runner() { stop(); }

// A config applied before (the app applies the first one before the scheduler runs) starts now.
void dnsbl_runner::start(asio::any_io_executor executor) {
  if (started_) return;
  started_ = true;
  executor_ = std::move(executor);
  if (current_) launch(current_);
}

void dnsbl_runner::stop() {
  if (current_) current_->stop();
  current_.reset();
}

std::shared_ptr<const dnsbl_status> dnsbl_runner::status() const {
  std::lock_guard lock(mutex_);
  return published_;
}

void dnsbl_runner::apply(const config::dnsbl_settings& settings,
                         const std::vector<config::target>& targets) {
  std::vector<std::pair<std::string, std::string>> target_hosts;
  if (settings.check_targets) {
    for (const auto& t : targets) target_hosts.emplace_back(t.name, t.host);
  }
  if (current_ && current_->settings == settings && current_->targets == target_hosts) return;

  auto previous = std::move(current_);
  if (previous) previous->stop();
  if (!settings.enabled) {
    if (egress_) egress_->publish({});
    std::lock_guard lock(mutex_);
    published_ = std::make_shared<dnsbl_status>();
    return;
  }

  limiter_->set_max(settings.max_in_flight);
  auto g = std::make_shared<generation>(executor_, blocking_, settings, limiter_);
  g->owner = this;
  g->targets = std::move(target_hosts);
  g->egress_configured = to_subjects(configured_egress_ips(settings), "");
  std::sort(g->egress_configured.begin(), g->egress_configured.end());

  // One resolver per distinct (servers, timeout): a c-ares channel each.
  std::map<std::pair<std::vector<std::string>, std::int64_t>, std::shared_ptr<probes::dns_resolver>>
      resolvers;
  for (const auto& zc : settings.zones) {
    auto z = std::make_unique<zone_state>(executor_, zc);
    z->counters.name = zc.name;
    z->counters.blocking = zc.blocking;
    z->counters.delist_url = zc.delist_url;
    z->counters.interval_seconds = std::chrono::duration<double>(zc.interval).count();
    std::string error;
    if (reads_key_file(zc)) {
      z->key_pending = true;  // run_zone reads it first
    } else if (auto suffix = dnsbl_query_suffix(zc, error)) {
      z->query_suffix = *suffix;
    } else {
      z->setup_error = error;
      log::error("dnsbl zone cannot be queried", {{"zone", zc.name}, {"err", error}});
    }
    auto& resolver = resolvers[{zc.servers, zc.timeout.count()}];
    if (!resolver) resolver = make_dnsbl_resolver(executor_, zc.servers, zc.timeout, error);
    if (!resolver && z->setup_error.empty()) z->setup_error = "resolver: " + error;
    z->resolver = resolver;
    if (previous) {
      for (auto& pz : previous->zones) {
        if (!same_queries(pz->conf, zc)) continue;
        z->cache = std::move(pz->cache);
        // A shorter interval must not wait out the old, longer one: answers kept for it are due
        // again within the new one (an unchanged interval keeps each answer's TTL).
        if (zc.interval < pz->conf.interval) {
          const auto latest = steady::now() + zc.interval;
          for (auto& [ip, entry] : z->cache) entry.next_due = std::min(entry.next_due, latest);
        }
        z->counters.lookups_total = pz->counters.lookups_total;
        z->counters.errors_total = pz->counters.errors_total;
      }
    }
    g->zones.push_back(std::move(z));
  }

  const auto& d = settings.discovery;
  if (!d.method.empty()) {
    const auto query = discovery_query(d);
    g->discovery_name = query.name;
    g->discovery_type = query.type;
    std::string error;
    g->discovery_resolver = make_dnsbl_resolver(executor_, {query.server}, d.timeout, error);
    if (!g->discovery_resolver) log::error("egress discovery cannot start", {{"err", error}});
    if (previous && previous->settings.discovery == d) {
      // The discovery's whole state: its addresses, and whether it worked (a failure must not
      // vanish from /metrics with a reload, nor be asked again at once).
      g->egress_discovered = previous->egress_discovered;
      g->egress_last_change_timestamp = previous->egress_last_change_timestamp;
      g->discovery_errors_total = previous->discovery_errors_total;
      g->discovery_has_result = previous->discovery_has_result;
      g->discovery_ok = previous->discovery_ok;
      g->discovery_error = previous->discovery_error;
      g->discovery_detail = previous->discovery_detail;
      g->discovery_next_due = previous->discovery_next_due;
    }
  }
  if (!g->targets.empty()) {
    std::string error;
    g->system_resolver = make_dnsbl_resolver(executor_, {}, std::chrono::seconds(5), error);
    if (!g->system_resolver) log::error("dnsbl target resolution cannot start", {{"err", error}});
  }

  current_ = g;
  publish(*g);
  if (started_) launch(g);
}

void dnsbl_runner::launch(const std::shared_ptr<generation>& g) {
  for (auto& z : g->zones) asio::co_spawn(executor_, run_zone(g, z.get()), asio::detached);
  if (g->discovery_resolver) asio::co_spawn(executor_, run_discovery(g), asio::detached);
  if (g->system_resolver) asio::co_spawn(executor_, run_target_resolution(g), asio::detached);
  const auto& settings = g->settings;
  const auto& d = settings.discovery;
  log::info("dnsbl checks started",
            {{"zones", std::to_string(g->zones.size())},
             {"egress_ips", std::to_string(g->egress_configured.size())},
             {"discovery", d.method.empty() ? "off" : d.method},
             {"check_targets", settings.check_targets ? "true" : "false"}});
}

void dnsbl_runner::publish(const generation& g) {
  auto s = std::make_shared<dnsbl_status>();
  s->enabled = true;
  for (const auto& e : g.egress_configured) {
    s->egress.push_back({e.ip_text, e.ip.is_v4() ? 4 : 6, "configured"});
  }
  for (const auto& e : g.egress_discovered) {
    if (std::find(g.egress_configured.begin(), g.egress_configured.end(), e) !=
        g.egress_configured.end())
      continue;
    s->egress.push_back({e.ip_text, e.ip.is_v4() ? 4 : 6, g.settings.discovery.method});
  }
  s->discovery_method = g.settings.discovery.method;
  s->discovery_has_result = g.discovery_has_result;
  s->discovery_ok = g.discovery_ok;
  s->discovery_error = g.discovery_error;
  s->discovery_detail = g.discovery_detail;
  s->discovery_errors_total = g.discovery_errors_total;
  s->egress_last_change_timestamp = g.egress_last_change_timestamp;
  const auto subjects = g.subjects();
  for (const auto& z : g.zones) {
    s->zones.push_back(z->counters);
    for (const auto& subj : subjects) {
      auto it = z->cache.find(subj.ip_text);
      if (it == z->cache.end() || it->second.last.zone.empty()) continue;
      dnsbl_check c = it->second.last;
      c.target = subj.target;
      s->checks.push_back(std::move(c));
    }
  }
  std::sort(s->checks.begin(), s->checks.end(), [](const dnsbl_check& a, const dnsbl_check& b) {
    return std::tie(a.target, a.ip, a.zone) < std::tie(b.target, b.ip, b.zone);
  });
  if (egress_) {
    std::vector<std::string> ips;
    for (const auto& e : s->egress) ips.push_back(e.ip);
    egress_->publish(std::move(ips));
  }
  std::lock_guard lock(mutex_);
  published_ = std::move(s);
}

std::vector<prometheus::MetricFamily> dnsbl_runner::families() const {
  return dnsbl_families(*status());
}

std::string dnsbl_runner::status_section() const { return render_dnsbl_section(*status()); }

std::optional<check_diagnosis> dnsbl_runner::diagnose(asio::io_context& io,
                                                      const config::exporter_config& config,
                                                      std::ostream* text) const {
  if (!config.dnsbl.enabled) return std::nullopt;
  auto d = diagnose_dnsbl(io, config.dnsbl, text);
  // The kinds after this one (sender readiness) check the same egress IPs.
  if (egress_) egress_->publish(d.egress);
  return check_diagnosis{"dnsbl", std::move(d.lookups), "DNSBL", dnsbl_verdict(d)};
}

}  // namespace smtp_exporter::exporter
