#include "exporter/sender/runner.hpp"

#include <algorithm>
#include <exception>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "exporter/runtime/clock.hpp"
#include "exporter/runtime/log.hpp"
#include "exporter/sender/diagnose.hpp"
#include "exporter/sender/evaluate.hpp"
#include "exporter/sender/metrics.hpp"
#include "exporter/sender/page.hpp"

namespace smtp_exporter::exporter {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {
// How often a waiting runner looks whether the egress IPs changed (a discovery that completes
// after start must not wait an interval, an hour by default).
constexpr auto egress_poll = std::chrono::seconds(5);
}  // namespace

sender_plan make_sender_plan(const config::exporter_config& config,
                             const std::vector<config::target>& targets) {
  sender_plan p;
  p.settings = config.sender;
  p.domains = config::sender_domains(config.sender, targets);
  p.servers = !config.sender.servers.empty() ? config.sender.servers : config.dnsbl.servers;
  p.helo = !config.sender.helo.empty() ? config.sender.helo
           : !targets.empty()          ? targets.front().ehlo_name
                                       : config::default_ehlo_name();
  return p;
}

std::shared_ptr<probes::dns_resolver> make_sender_resolver(const asio::any_io_executor& executor,
                                                           const std::vector<std::string>& servers,
                                                           std::string& error) {
  probes::dns_resolver_options options;
  options.servers = servers;
  // A question gets two tries of 1 s per server; an evaluation's deadline bounds the whole.
  options.attempt_timeout = std::chrono::seconds(1);
  options.tries = 2;
  options.final_error_answers = true;
  try {
    return std::make_shared<probes::dns_resolver>(executor, options);
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
}

struct sender_runner::generation {
  generation(const asio::any_io_executor& ex, const asio::any_io_executor& blocking_ex,
             sender_plan p, std::shared_ptr<slot_limiter> limiter,
             std::shared_ptr<egress_registry> registry)
      : executor(ex), blocking(blocking_ex), plan(std::move(p)), slots(std::move(limiter)),
        egress(std::move(registry)), timer(ex), latch(ex, steady::time_point::max()) {}

  asio::any_io_executor executor;
  asio::any_io_executor blocking;
  sender_plan plan;
  std::shared_ptr<slot_limiter> slots;
  std::shared_ptr<egress_registry> egress;
  sender_runner* owner = nullptr;
  bool stopped = false;

  std::shared_ptr<probes::dns_resolver> resolver;
  std::unique_ptr<probes::resolver_dns_lookup> network;
  std::unique_ptr<probes::cached_dns_lookup> cache;
  std::shared_ptr<const probes::public_suffix_list> psl;
  std::string psl_error;
  std::string setup_error;

  asio::steady_timer timer;
  asio::steady_timer latch;  // the round's last evaluation cancels it
  std::size_t pending = 0;
  sender_status status;  // built here, copied out to publish

  void stop() {
    stopped = true;
    slots->cancel_all();
    timer.cancel();
    latch.cancel();
  }

  std::vector<std::string> egress_ips() const {
    std::vector<std::string> ips = plan.settings.egress_ips;
    if (egress) {
      for (auto& ip : egress->current()) {
        if (std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(std::move(ip));
      }
    }
    return ips;
  }
};

namespace {

using generation = sender_runner::generation;

void count_error(generation& g, sender_check check, const std::string& result) {
  if (is_sender_error(check, result)) {
    ++g.status.errors_total[{sender_check_names[static_cast<std::size_t>(check)], result}];
  }
}

// Logs a verdict that changed (and a first one that is not the good one).
void log_change(const std::string& what, const std::string& subject, const std::string& before,
                const std::string& now, bool good, const std::string& detail) {
  if (before == now || (before.empty() && good)) return;
  const std::initializer_list<log::field> fields{
      {"check", what}, {"subject", subject}, {"result", now}, {"detail", detail}};
  if (good) {
    log::info("sender check", fields);
  } else {
    log::warn("sender check", fields);
  }
}

// Runs `work` with a slot; the round's latch counts it.
template <class Work>
void spawn(const std::shared_ptr<generation>& g, Work work) {
  ++g->pending;
  asio::co_spawn(
      g->executor,
      [g, work = std::move(work)]() mutable -> asio::awaitable<void> {
        const bool held = co_await g->slots->acquire();
        slot_guard slot(*g->slots, held);
        if (!held || g->stopped) co_return;
        co_await work();
      },
      [g](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            log::error("sender check failed", {{"err", ex.what()}});
          }
        }
        if (--g->pending == 0) g->latch.cancel();
      });
}

template <class List, class Match>
auto& find_or_add(List& list, Match match) {
  auto it = std::find_if(list.begin(), list.end(), match);
  if (it != list.end()) return *it;
  list.emplace_back();
  return list.back();
}

asio::awaitable<void> run_round(std::shared_ptr<generation> g, std::vector<std::string> ips) {
  const auto& plan = g->plan;
  const auto timeout = plan.settings.timeout;
  auto& st = g->status;
  st.egress_ips = ips;
  // Drop the verdicts of IPs that left.
  std::erase_if(st.reverse_dns, [&](const auto& e) {
    return std::find(ips.begin(), ips.end(), e.ip) == ips.end();
  });
  std::erase_if(st.spf, [&](const auto& e) {
    return std::find(ips.begin(), ips.end(), e.ip) == ips.end();
  });
  if (plan.settings.reverse_dns) {
    for (const auto& ip : ips) {
      spawn(g, [g, ip, timeout]() -> asio::awaitable<void> {
        auto e = co_await evaluate_reverse_dns(*g->cache, ip, timeout);
        if (g->stopped) co_return;
        auto& slot = find_or_add(g->status.reverse_dns, [&](const auto& x) { return x.ip == ip; });
        log_change("reverse_dns", ip, slot.result, e.result, e.result == "match", e.detail);
        count_error(*g, sender_check::reverse_dns, e.result);
        slot = std::move(e);
      });
    }
  }
  if (plan.settings.spf) {
    for (const auto& domain : plan.domains) {
      for (const auto& ip : ips) {
        spawn(g, [g, domain, ip, timeout]() -> asio::awaitable<void> {
          auto e = co_await evaluate_spf(*g->cache, domain, ip, g->plan.helo, timeout);
          if (g->stopped) co_return;
          auto& slot = find_or_add(g->status.spf, [&](const auto& x) {
            return x.domain == domain && x.ip == ip;
          });
          log_change("spf", domain + " " + ip, slot.result, e.result, e.result == "pass",
                     e.detail);
          count_error(*g, sender_check::spf, e.result);
          slot = std::move(e);
        });
      }
    }
  }
  if (plan.settings.dmarc) {
    for (const auto& domain : plan.domains) {
      spawn(g, [g, domain, timeout]() -> asio::awaitable<void> {
        auto e = co_await evaluate_dmarc(*g->cache, g->psl.get(), g->psl_error, domain, timeout);
        if (g->stopped) co_return;
        auto& slot = find_or_add(g->status.dmarc, [&](const auto& x) { return x.domain == domain; });
        log_change("dmarc", domain, slot.result, e.result, e.result == "present", e.detail);
        count_error(*g, sender_check::dmarc, e.result);
        slot = std::move(e);
      });
    }
  }
  while (g->pending > 0 && !g->stopped) {
    co_await g->latch.async_wait(asio::as_tuple(asio::use_awaitable));
    g->latch.expires_at(steady::time_point::max());
  }
  if (g->stopped) co_return;
  const double now = unix_now();
  const bool enabled[] = {plan.settings.reverse_dns, plan.settings.spf, plan.settings.dmarc};
  for (std::size_t i = 0; i < sender_check_count; ++i) {
    if (enabled[i]) st.last_run_timestamp[i] = now;
  }
  std::sort(st.reverse_dns.begin(), st.reverse_dns.end(),
            [](const auto& a, const auto& b) { return a.ip < b.ip; });
  std::sort(st.spf.begin(), st.spf.end(), [](const auto& a, const auto& b) {
    return std::tie(a.domain, a.ip) < std::tie(b.domain, b.ip);
  });
  std::sort(st.dmarc.begin(), st.dmarc.end(),
            [](const auto& a, const auto& b) { return a.domain < b.domain; });
}

asio::awaitable<void> run_generation(std::shared_ptr<generation> g) {
  if (g->plan.settings.dmarc) {
    // Debian's Public Suffix List is a file (~200 KB): read off the event loop.
    struct loaded {
      std::shared_ptr<const probes::public_suffix_list> psl;
      std::string error;
    };
    auto load = []() -> asio::awaitable<loaded> {
      loaded l;
      try {
        l.psl = probes::public_suffix_list::load();
      } catch (const std::exception& e) {
        l.error = e.what();
      }
      co_return l;
    };
    auto l = co_await asio::co_spawn(g->blocking, load(), asio::use_awaitable);
    if (g->stopped) co_return;
    g->psl = std::move(l.psl);
    g->psl_error = std::move(l.error);
    if (!g->psl) log::error("sender: DMARC checks cannot run", {{"err", g->psl_error}});
  }
  while (!g->stopped) {
    const auto version = g->egress ? g->egress->version() : 0;
    co_await run_round(g, g->egress_ips());
    if (g->stopped) break;
    const auto stats = g->cache->stats();
    g->status.queries_network = stats.queries_sent;
    g->status.queries_cache = stats.cache_hits + stats.joined;
    g->status.setup_error = !g->psl_error.empty() ? g->psl_error : g->setup_error;
    g->owner->publish(std::make_shared<sender_status>(g->status));

    const auto next = steady::now() + g->plan.settings.interval;
    while (!g->stopped && steady::now() < next &&
           (!g->egress || g->egress->version() == version)) {
      g->timer.expires_at(std::min(next, steady::now() + egress_poll));
      co_await g->timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }
}

}  // namespace

sender_runner::sender_runner(asio::any_io_executor executor, asio::any_io_executor blocking,
                             std::shared_ptr<egress_registry> egress)
    : executor_(std::move(executor)),
      blocking_(std::move(blocking)),
      egress_(std::move(egress)),
      published_(std::make_shared<sender_status>()) {}

sender_runner::~sender_runner() { stop(); }

void sender_runner::start(asio::any_io_executor executor) {
  if (started_) return;
  started_ = true;
  executor_ = std::move(executor);
  if (current_) launch(current_);
}

void sender_runner::stop() {
  if (current_) current_->stop();
}

void sender_runner::apply(const config::exporter_config& config,
                          const std::vector<config::target>& targets) {
  auto plan = make_sender_plan(config, targets);
  if (current_ && current_->plan == plan) return;
  if (current_) current_->stop();
  current_.reset();
  if (!plan.settings.enabled) {
    publish(std::make_shared<sender_status>());
    return;
  }
  auto g = std::make_shared<generation>(executor_, blocking_, std::move(plan), limiter_, egress_);
  g->owner = this;
  g->resolver = make_sender_resolver(executor_, g->plan.servers, g->setup_error);
  if (!g->resolver) {
    // Without a resolver nothing can be asked; say so on the page and in the log.
    log::error("sender: resolver cannot start", {{"err", g->setup_error}});
    auto s = std::make_shared<sender_status>();
    s->enabled = true;
    s->domains = g->plan.domains;
    s->setup_error = g->setup_error;
    publish(std::move(s));
    return;
  }
  g->network = std::make_unique<probes::resolver_dns_lookup>(*g->resolver);
  g->cache = std::make_unique<probes::cached_dns_lookup>(*g->network);
  g->status.enabled = true;
  g->status.domains = g->plan.domains;
  g->status.helo = g->plan.helo;
  // Verdicts are kept across a reload that changes nothing they depend on? No: a new config may
  // change servers or domains; a new generation starts empty and publishes after its first round.
  auto first = std::make_shared<sender_status>(g->status);
  first->egress_ips = g->egress_ips();
  publish(std::move(first));
  current_ = g;
  if (started_) launch(g);
}

void sender_runner::launch(const std::shared_ptr<generation>& g) {
  asio::co_spawn(executor_, run_generation(g), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("sender checks stopped", {{"err", ex.what()}});
    }
  });
}

void sender_runner::publish(std::shared_ptr<const sender_status> s) {
  std::lock_guard lock(mutex_);
  published_ = std::move(s);
}

std::shared_ptr<const sender_status> sender_runner::status() const {
  std::lock_guard lock(mutex_);
  return published_;
}

std::vector<prometheus::MetricFamily> sender_runner::families() const {
  return sender_families(*status());
}

std::string sender_runner::status_section() const { return render_sender_section(*status()); }

std::optional<check_diagnosis> sender_runner::diagnose(asio::io_context& io,
                                                       const config::exporter_config& config,
                                                       std::ostream* text) const {
  if (!config.sender.enabled) return std::nullopt;
  // The DNSBL kind's diagnose ran first and published the egress IPs it checked.
  auto plan = make_sender_plan(config, config.targets);
  std::vector<std::string> ips = plan.settings.egress_ips;
  if (egress_) {
    for (auto& ip : egress_->current()) {
      if (std::find(ips.begin(), ips.end(), ip) == ips.end()) ips.push_back(std::move(ip));
    }
  }
  return diagnose_sender(io, plan, ips, text);
}

}  // namespace smtp_exporter::exporter
