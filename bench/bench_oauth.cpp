// What the exporter's own OAuth 2.0 tokens cost (issue 20), against real peers on loopback:
// tests/peers/token_endpoint.py (HTTPS, the test PKI) and tests/peers/aiosmtpd_server.py (XOAUTH2).
//
//   bench_oauth [--targets 1000] [--lifetime 8] [--seconds 40] [--sessions 200]
//
// 1. Token requests for N targets sharing one credential: every target asks the source for a
//    token once a second (a probe interval far shorter than any real one) for --seconds, with
//    tokens living --lifetime seconds. Prints the requests that reached the endpoint against one
//    per refresh interval (the goal) and against one per probe (what a per-probe fetch costs),
//    and what that means per hour for Microsoft's and Google's 1-hour tokens.
// 2. A cached get(): ns per call (what a probe pays once the token is there).
// 3. The token step: a fresh request (new TLS connection) to the scripted endpoint, median and p90.
// 4. Auth latency added by a cached token: SMTP sessions (banner + AUTH XOAUTH2, plain text on
//    loopback) with the token from token_file (read per probe, as before) and from the source,
//    alternated, median and p90 of the whole session.
//
// Figures go to bench/README.md. Nothing here is asserted: it prints.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "probes/oauth/token_cache.hpp"
#include "probes/smtp/session.hpp"
#include "tests/support/certs.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/token_endpoint.hpp"

namespace asio = boost::asio;
namespace oauth = smtp_exporter::probes::oauth;
namespace probes = smtp_exporter::probes;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;
using smtp_test::fs::path;

namespace {

struct options {
  int targets = 1000;
  int lifetime = 8;
  int seconds = 40;
  int sessions = 200;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

// A scripted endpoint handing out tokens of `expires_in` seconds.
std::unique_ptr<smtp_test::token_endpoint> start_endpoint(const smtp_test::temp_dir& dir,
                                                          const smtp_test::test_pki& pki,
                                                          int expires_in) {
  return std::make_unique<smtp_test::token_endpoint>(
      dir, pki.valid, R"({"mode":"ok","expires_in":)" + std::to_string(expires_in) + "}");
}

oauth::credential credential_for(const smtp_test::token_endpoint& e, const smtp_test::test_pki& pki) {
  oauth::credential c;
  c.flow = oauth::grant_kind::refresh_token;
  c.token_url = e.url();
  c.client_id = "bench";
  c.client_secret = smtp_exporter::secret_string(std::string_view("bench-secret"));
  c.refresh_token = smtp_exporter::secret_string(std::string_view("bench-refresh"));
  c.scope = "https://outlook.office.com/SMTP.Send offline_access";
  c.ca_file = pki.root_file.string();
  return c;
}

asio::awaitable<void> one_target(std::shared_ptr<oauth::token_source> source,
                                 clock_type::time_point end, clock_type::duration offset,
                                 std::size_t& failures) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(offset);
  co_await timer.async_wait(asio::use_awaitable);
  while (clock_type::now() < end) {
    auto r = co_await source->get(clock_type::now() + 5s);
    if (!r.ok()) ++failures;
    timer.expires_after(1s);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

void bench_requests(const options& o, const smtp_test::temp_dir& dir,
                    const smtp_test::test_pki& pki) {
  auto e = start_endpoint(dir, pki, o.lifetime);
  asio::io_context io{1};
  oauth::token_cache cache(io.get_executor());
  auto source = cache.source(credential_for(*e, pki));
  std::size_t failures = 0;
  const auto end = clock_type::now() + std::chrono::seconds(o.seconds);
  std::mt19937 random(42);
  for (int i = 0; i < o.targets; ++i) {
    // Every target shares the credential: the cache hands out the one source.
    auto same = cache.source(credential_for(*e, pki));
    auto offset = std::chrono::milliseconds(random() % 1000);
    asio::co_spawn(io, one_target(same, end, offset, failures), asio::detached);
  }
  const auto started = clock_type::now();
  io.run();
  const double elapsed = std::chrono::duration<double>(clock_type::now() - started).count();
  const auto requests = e->count();
  const auto schedule = oauth::schedule_for(std::chrono::seconds(o.lifetime), {});
  const double refresh_every = std::chrono::duration<double>(schedule.refresh_after).count();
  const double gets = static_cast<double>(o.targets) * elapsed;  // one per target per second
  const auto hour = oauth::schedule_for(3600s, {});
  const double hourly_refresh = std::chrono::duration<double>(hour.refresh_after).count();
  std::printf("token requests: %d targets, 1 credential, tokens of %d s, %.0f s: %zu requests "
              "(%zu failed gets), cache size %zu\n",
              o.targets, o.lifetime, elapsed, requests, failures, cache.size());
  std::printf("  goal (one per refresh interval of %.1f s): %.1f; ratio %.2f\n", refresh_every,
              elapsed / refresh_every, static_cast<double>(requests) / (elapsed / refresh_every));
  std::printf("  a fetch per probe would have made ~%.0f: %.0fx more\n", gets,
              gets / static_cast<double>(std::max<std::size_t>(requests, 1)));
  std::printf("  with 1-hour tokens (refresh at %.0f min): %.2f requests/hour for all %d "
              "targets (one per probe at 1 min: %d/hour)\n",
              hourly_refresh / 60, 3600 / hourly_refresh, o.targets, o.targets * 60);
}

void bench_cached_get(const smtp_test::temp_dir& dir, const smtp_test::test_pki& pki) {
  auto e = start_endpoint(dir, pki, 3600);
  asio::io_context io{1};
  oauth::token_cache cache(io.get_executor());
  auto source = cache.source(credential_for(*e, pki));
  constexpr int calls = 1'000'000;
  double ns = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        (void)co_await source->get(clock_type::now() + 5s);  // the one fetch
        const auto start = clock_type::now();
        std::size_t ok = 0;
        for (int i = 0; i < calls; ++i) ok += (co_await source->get(clock_type::time_point::max())).ok();
        ns = std::chrono::duration<double, std::nano>(clock_type::now() - start).count() / calls;
        if (ok != calls) std::printf("  (%zu of %d gets failed)\n", calls - ok, calls);
      },
      asio::detached);
  io.run();
  std::printf("cached get(): %.0f ns per call over %d calls (%zu request)\n", ns, calls,
              e->count());
}

void bench_token_step(const smtp_test::temp_dir& dir, const smtp_test::test_pki& pki) {
  auto e = start_endpoint(dir, pki, 3600);
  std::vector<double> ms;
  for (int i = 0; i < 30; ++i) {
    asio::io_context io{1};
    oauth::token_cache cache(io.get_executor());
    auto c = credential_for(*e, pki);
    c.client_id = "bench-" + std::to_string(i);  // a new credential: a new request
    auto source = cache.source(std::move(c));
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
          const auto start = clock_type::now();
          auto r = co_await source->get(clock_type::now() + 10s);
          if (r.ok()) {
            ms.push_back(
                std::chrono::duration<double, std::milli>(clock_type::now() - start).count());
          }
        },
        asio::detached);
    io.run();
  }
  std::printf("token step (fresh HTTPS request to the scripted endpoint, %zu ok of 30): median "
              "%.1f ms, p90 %.1f ms\n",
              ms.size(), percentile(ms, 0.5), percentile(ms, 0.9));
}

void bench_sessions(const options& o, const smtp_test::temp_dir& dir,
                    const smtp_test::test_pki& pki) {
  auto e = start_endpoint(dir, pki, 3600);
  // The endpoint's first token is "at-1": the SMTP peer accepts exactly that one.
  const path token_file = dir.path() / "token";
  std::ofstream(token_file) << "at-1\n";
  std::uint16_t smtp_port = 0;
  auto peer = smtp_test::start_aiosmtpd(
      dir, smtp_port,
      {"--auth-user", "bench@example.com", "--auth-password-file", token_file.string(),
       "--mechanisms", "XOAUTH2"});
  asio::io_context io{1};
  probes::dns_resolver resolver(io.get_executor());
  oauth::token_cache cache(io.get_executor());
  auto source = cache.source(credential_for(*e, pki));

  probes::session_options base;
  base.host = "127.0.0.1";
  base.port = smtp_port;
  base.mode = probes::transport::plain;
  base.allow_plaintext = true;
  base.timeout = 10s;
  base.due[static_cast<std::size_t>(probes::probe_kind::banner)] = true;
  base.due[static_cast<std::size_t>(probes::probe_kind::auth)] = true;
  probes::auth_options with_file;
  with_file.credentials.username = "bench@example.com";
  with_file.credentials.token_file = token_file.string();
  probes::auth_options with_source = with_file;
  with_source.credentials.token_file.clear();
  with_source.token = source;

  std::vector<double> file_ms, source_ms, file_auth, source_auth;
  std::size_t failed = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        (void)co_await source->get(clock_type::now() + 10s);  // cached from here on
        for (int i = 0; i < o.sessions * 2; ++i) {
          auto options = base;
          const bool use_source = i % 2 == 1;
          options.auth = use_source ? with_source : with_file;
          const auto start = clock_type::now();
          auto result = co_await probes::run_session(options, resolver);
          const double ms =
              std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
          const auto& auth = result.probes[static_cast<std::size_t>(probes::probe_kind::auth)];
          if (!auth.success()) {
            ++failed;
            continue;
          }
          const double auth_ms =
              result.phase_seconds[static_cast<std::size_t>(probes::phase::auth)] * 1000;
          (use_source ? source_ms : file_ms).push_back(ms);
          (use_source ? source_auth : file_auth).push_back(auth_ms);
        }
      },
      asio::detached);
  io.run();
  std::printf("sessions (banner + AUTH XOAUTH2, loopback, %d each, %zu failed):\n", o.sessions,
              failed);
  std::printf("  token_file (read per probe): session median %.2f ms p90 %.2f; AUTH phase median "
              "%.3f ms\n",
              percentile(file_ms, 0.5), percentile(file_ms, 0.9), percentile(file_auth, 0.5));
  std::printf("  cached token source:         session median %.2f ms p90 %.2f; AUTH phase median "
              "%.3f ms\n",
              percentile(source_ms, 0.5), percentile(source_ms, 0.9), percentile(source_auth, 0.5));
  std::printf("  ratio (source / file), session median: %.3f; token requests: %zu\n",
              percentile(source_ms, 0.5) / std::max(percentile(file_ms, 0.5), 1e-9),
              e->count());
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--targets") o.targets = value;
    else if (flag == "--lifetime") o.lifetime = value;
    else if (flag == "--seconds") o.seconds = value;
    else if (flag == "--sessions") o.sessions = value;
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  smtp_test::temp_dir dir;
  smtp_test::test_pki pki(dir.path() / "pki");
  bench_token_step(dir, pki);
  bench_cached_get(dir, pki);
  bench_sessions(o, dir, pki);
  bench_requests(o, dir, pki);
  return 0;
}
