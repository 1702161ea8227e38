#include "exporter/dnsbl/runner.hpp"

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "exporter/runtime/clock.hpp"
#include "exporter/runtime/log.hpp"
#include "probes/dns/dnsbl_lookup.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;
using probes::dnsbl_result;

namespace {
constexpr std::size_t max_discovered = 4;
}  // namespace

std::string return_codes_text(const std::vector<int>& codes) {
  std::string out;
  for (int c : codes) out += (out.empty() ? "127.0.0." : ", 127.0.0.") + std::to_string(c);
  return out;
}

// The key never goes into `error`: it is a credential.
std::optional<std::string> dnsbl_query_suffix(const config::dnsbl_zone& zone, std::string& error) {
  std::string key;
  if (!zone.dqs_key_env.empty()) {
    const char* value = std::getenv(zone.dqs_key_env.c_str());
    if (value == nullptr) {
      error = "DQS key: environment variable " + zone.dqs_key_env + " is unset";
      return std::nullopt;
    }
    key = value;
  } else if (!zone.dqs_key_file.empty()) {
    std::ifstream in(zone.dqs_key_file);
    std::getline(in, key);
    if (!in && !in.eof()) {
      error = "DQS key: cannot read " + zone.dqs_key_file;
      return std::nullopt;
    }
  } else {
    return zone.name;
  }
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
    key.pop_back();
  const bool valid = !key.empty() && key.size() <= 63 &&
                     std::all_of(key.begin(), key.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9');
                     });
  if (!valid) {
    error = "DQS key: not a key (want letters and digits, one DNS label)";
    return std::nullopt;
  }
  return key + "." + zone.name;
}

std::shared_ptr<probes::dns_resolver> make_dnsbl_resolver(const asio::any_io_executor& ex,
                                                          const std::vector<std::string>& servers,
                                                          std::chrono::milliseconds timeout,
                                                          std::string& error) {
  probes::dns_resolver_options options;
  options.servers = servers;
  // Two tries per server within the timeout; the deadline still bounds the whole lookup.
  options.attempt_timeout = std::max(std::chrono::milliseconds(100), timeout / 2);
  options.tries = 2;
  options.final_error_answers = true;
  try {
    return std::make_shared<probes::dns_resolver>(ex, options);
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
}

std::vector<asio::ip::address> configured_egress_ips(const config::dnsbl_settings& settings) {
  std::vector<asio::ip::address> out;
  for (const auto& ip : settings.egress_ips) {
    boost::system::error_code ec;
    const auto a = asio::ip::make_address(ip, ec);
    if (!ec) out.push_back(a);
  }
  return out;
}

probes::egress_query discovery_query(const config::egress_discovery& d) {
  probes::egress_query q;
  if (const auto method = probes::parse_egress_method(d.method)) {
    q = probes::egress_preset(*method, d.ip6).value_or(probes::egress_query{});
  }
  if (!d.name.empty()) q.name = d.name;
  if (!d.server.empty()) q.server = d.server;
  if (d.method == "custom") {
    q.type = d.record == "TXT"    ? probes::dns_record_type::txt
             : d.record == "AAAA" ? probes::dns_record_type::aaaa
                                  : probes::dns_record_type::a;
  }
  return q;
}

namespace {

// Bounds the queries in flight; FIFO. A waiter woken by stop() gets no slot.
class limiter {
 public:
  limiter(std::size_t max, std::shared_ptr<std::atomic<std::size_t>> in_flight)
      : max_(max), in_flight_(std::move(in_flight)) {}

  asio::awaitable<bool> acquire() {
    if (used_ < max_) {
      ++used_;
      in_flight_->fetch_add(1, std::memory_order_relaxed);
      co_return true;
    }
    auto w = std::make_shared<waiter>(co_await asio::this_coro::executor);
    waiters_.push_back(w);
    co_await w->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return w->granted;
  }

  void release() {
    if (!waiters_.empty()) {
      auto next = std::move(waiters_.front());
      waiters_.pop_front();
      next->granted = true;
      next->timer.cancel();
      return;
    }
    --used_;
    in_flight_->fetch_sub(1, std::memory_order_relaxed);
  }

  void wake_all() {
    for (auto& w : waiters_) w->timer.cancel();
    waiters_.clear();
  }

 private:
  struct waiter {
    explicit waiter(const asio::any_io_executor& ex) : timer(ex, steady::time_point::max()) {}
    asio::steady_timer timer;
    bool granted = false;
  };
  std::size_t max_;
  std::size_t used_ = 0;
  std::shared_ptr<std::atomic<std::size_t>> in_flight_;  // the runner's, across generations
  std::deque<std::shared_ptr<waiter>> waiters_;
};

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

// What a zone's answers depend on: a reload that keeps these keeps the answers.
bool same_queries(const config::dnsbl_zone& a, const config::dnsbl_zone& b) {
  return a.name == b.name && a.servers == b.servers && a.dqs_key_file == b.dqs_key_file &&
         a.dqs_key_env == b.dqs_key_env && a.timeout == b.timeout;
}

}  // namespace

struct dnsbl_runner::generation {
  struct zone_state {
    zone_state(const asio::any_io_executor& ex, config::dnsbl_zone c)
        : conf(std::move(c)), timer(ex) {}
    config::dnsbl_zone conf;
    std::string query_suffix;   // "KEY.zone" or "zone"; never logged
    std::string setup_error;    // a DQS key that could not be read, a resolver that would not start
    std::shared_ptr<probes::dns_resolver> resolver;
    asio::steady_timer timer;
    std::map<std::string, cache_entry> cache;  // by ip text
    dnsbl_zone_status counters;
  };

  generation(const asio::any_io_executor& ex, config::dnsbl_settings s,
             std::shared_ptr<std::atomic<std::size_t>> in_flight)
      : executor(ex), settings(std::move(s)), slots(settings.max_in_flight, std::move(in_flight)),
        discovery_timer(ex),
        targets_timer(ex) {}

  asio::any_io_executor executor;
  config::dnsbl_settings settings;
  // (target name, host) of every target, when check_targets is on.
  std::vector<std::pair<std::string, std::string>> targets;
  limiter slots;
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
    slots.wake_all();
    discovery_timer.cancel();
    targets_timer.cancel();
    wake_zones();
  }
};

namespace {

using generation = dnsbl_runner::generation;
using zone_state = generation::zone_state;

asio::awaitable<void> lookup(std::shared_ptr<generation> g, zone_state* z, subject s) {
  if (!co_await g->slots.acquire()) co_return;
  if (g->stopped) {
    g->slots.release();
    co_return;
  }
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
  g->slots.release();
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

asio::awaitable<void> run_zone(std::shared_ptr<generation> g, zone_state* z) {
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
      if (!co_await g->slots.acquire()) co_return;
      auto r = co_await g->system_resolver->resolve(host, 0,
                                                    steady::now() + std::chrono::seconds(10));
      g->slots.release();
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

dnsbl_runner::dnsbl_runner(asio::any_io_executor executor)
    : executor_(std::move(executor)), published_(std::make_shared<dnsbl_status>()) {}

dnsbl_runner::~dnsbl_runner() { stop(); }

void dnsbl_runner::start(asio::any_io_executor executor) { executor_ = std::move(executor); }

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
    std::lock_guard lock(mutex_);
    published_ = std::make_shared<dnsbl_status>();
    return;
  }

  auto g = std::make_shared<generation>(executor_, settings, in_flight_);
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
    if (auto suffix = dnsbl_query_suffix(zc, error)) {
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
  for (auto& z : g->zones) asio::co_spawn(executor_, run_zone(g, z.get()), asio::detached);
  if (g->discovery_resolver) asio::co_spawn(executor_, run_discovery(g), asio::detached);
  if (g->system_resolver) asio::co_spawn(executor_, run_target_resolution(g), asio::detached);
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
  std::lock_guard lock(mutex_);
  published_ = std::move(s);
}

}  // namespace smtp_exporter::exporter
