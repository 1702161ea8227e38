// bench_render: the cost of one /metrics render at N targets, alone: no probes, no responder.
//
// Fills a status_store with N targets whose last run looks like bench_10k_targets --tls starttls
// (banner + tls succeeded, STARTTLS, TLSv1.3, a chain of two, the same EHLO extensions, every
// phase timed, label team="tK"), then renders /metrics R times with metrics_collector::render
// as the exporter's /metrics handler does, and prints bytes and
// series; then min/median/max ms and peak RSS. For profiling the render:
//   perf record --call-graph dwarf -- build/bench/bench_render --renders 20
//
// Usage: bench_render [--targets 10000] [--renders 10] [--reference] [--gzip]
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <prometheus/text_serializer.h>

#include "exporter/web/gzip.hpp"
#include "exporter/runtime/malloc_tuning.hpp"
#include "exporter/render/metrics.hpp"
#include "exporter/schedule/target_status.hpp"
#include "probes/smtp/ehlo.hpp"

namespace {

using namespace smtp_exporter;
using steady = std::chrono::steady_clock;

std::vector<std::shared_ptr<const config::target>> make_targets(std::size_t n) {
  std::vector<std::shared_ptr<const config::target>> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto t = std::make_shared<config::target>();
    char name[32];
    std::snprintf(name, sizeof name, "bench-%05zu", i);
    t->name = name;
    t->host = "127.0.0.1";
    t->port = 2525;
    t->tls = config::tls_mode::starttls;
    t->probes = {true, true, false};
    t->interval = std::chrono::seconds(60);
    t->probe_interval = {t->interval, t->interval, t->interval};
    t->timeout = std::chrono::seconds(5);
    t->ehlo_name = "localhost";
    t->labels = {{"team", "t" + std::to_string(i % 10)}};
    out.push_back(std::move(t));
  }
  return out;
}

probes::session_result starttls_result() {
  probes::session_result r;
  r.probes[0] = {true, probes::failure_reason::none, 220, {}, false};
  r.probes[1] = {true, probes::failure_reason::none, 220, {}, false};
  r.phase_seconds = {0.00002, 0.00012, 0.00003, 0.00013, 0.00004, 0.00129, -1, 0.00005};
  r.total_seconds = 0.0021;
  probes::smtp_reply ehlo;
  ehlo.code = 250;
  ehlo.lines = {"bench.test", "PIPELINING", "SIZE 10240000", "8BITMIME"};
  r.ehlo = probes::parse_ehlo(ehlo);
  r.ehlo_seen = true;
  r.greeting = "bench.test ESMTP";
  r.peer_address = "127.0.0.1:2525";
  r.ip_protocol = 4;
  r.tls_seen = true;
  r.tls.version = "TLSv1.3";
  r.tls.cipher = "TLS_AES_256_GCM_SHA384";
  r.tls.chain = {{0, "mx.test", "smtp_exporter test intermediate CA", 1764400000, 1772176000},
                 {1, "smtp_exporter test intermediate CA", "smtp_exporter test root CA", 1732864000,
                  1922080000}};
  r.tls.chain_length = 2;
  r.tls.verified = true;
  r.tls.hostname_match = true;
  r.transcript = {"C: EHLO localhost", "S: 250 bench.test"};
  return r;
}

// CPU time of this thread: steadier than wall time on a machine shared with other jobs.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// Series in a scrape, from the families themselves (gzip bodies cannot be counted as text).
std::size_t count_series(const exporter::metrics_collector& collector) {
  std::size_t series = 0;
  for (const auto& family : collector.Collect()) series += family.metric.size();
  return series;
}

// As the exporter's /metrics handler renders (exporter/app/app.cpp); or, with --reference, every
// family from Collect() through prometheus-cpp's TextSerializer into a std::ostringstream (the
// render before issue 12; same bytes).
// --gzip: the body Prometheus gets (it always asks for gzip): before, the whole text and then
// gzip_compress; now, family by family through a gzip_stream.
std::string render_once(const exporter::metrics_collector& collector, bool reference, bool gzip) {
  if (!reference) {
    if (!gzip) return collector.render();
    exporter::gzip_stream out;
    collector.render_pieces([&](std::string_view piece) { out.write(piece); });
    return out.finish();
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collector.Collect());
  return gzip ? exporter::gzip_compress(out.view()) : std::move(out).str();
}

}  // namespace

int main(int argc, char** argv) {
  // As the exporter's main() does; GLIBC_TUNABLES set (even empty) leaves malloc as it is.
  const bool malloc_tuned = exporter::tune_malloc();
  std::size_t targets = 10000, renders = 10;
  bool reference = false, gzip = false;
  for (int i = 1; i < argc; i += 2) {
    std::string_view flag = argv[i];
    if (flag == "--reference" || flag == "--gzip") {
      (flag == "--gzip" ? gzip : reference) = true;
      --i;
      continue;
    }
    if (i + 1 >= argc) return 2;
    long v = std::strtol(argv[i + 1], nullptr, 10);
    if (v <= 0) return 2;
    if (flag == "--targets") targets = static_cast<std::size_t>(v);
    else if (flag == "--renders") renders = static_cast<std::size_t>(v);
    else return 2;
  }
  exporter::status_store store;
  auto configs = make_targets(targets);
  store.set_targets(configs);
  const auto result = starttls_result();
  for (const auto& t : configs) store.record(t, result, 1764500000.5);
  exporter::exporter_state state;
  exporter::metrics_collector collector(store, state);
  std::printf("bench_render: %zu targets (banner + tls, STARTTLS, chain of two), %zu renders%s, "
              "rss after fill %.1f MiB\n", targets, renders,
              reference ? " (--reference: Collect() + TextSerializer)" : "", peak_rss_mib());
  std::printf("malloc: %s\n", malloc_tuned ? "tuned as the exporter does (M_MMAP_THRESHOLD 128 KiB, "
                                            "M_ARENA_MAX 2)"
                                          : "as the environment leaves it (GLIBC_TUNABLES set)");
  if (gzip) std::printf("gzip: bytes are the compressed body, as sent to Prometheus\n");
  std::vector<double> ms, cpu_ms;
  std::size_t first_bytes = 0, last_bytes = 0;
  for (std::size_t i = 0; i < renders; ++i) {
    auto t = steady::now();
    const double c = thread_cpu_ms();
    const std::string text = render_once(collector, reference, gzip);
    cpu_ms.push_back(thread_cpu_ms() - c);
    ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - t).count());
    (i == 0 ? first_bytes : last_bytes) = text.size();
  }
  const double peak = peak_rss_mib();  // before Collect() below builds every family at once
  std::sort(ms.begin(), ms.end());
  std::sort(cpu_ms.begin(), cpu_ms.end());
  std::printf("bytes first/last render %zu/%zu, %zu series\n", first_bytes, last_bytes,
              count_series(collector));
  std::printf("render ms: min %.2f, median %.2f, max %.2f; CPU ms min %.2f, median %.2f; "
              "peak RSS %.1f MiB\n", ms.front(), ms[ms.size() / 2], ms.back(), cpu_ms.front(),
              cpu_ms[cpu_ms.size() / 2], peak);
}
