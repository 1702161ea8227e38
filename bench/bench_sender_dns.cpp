// What issue 22's sender checks cost in DNS queries and CPU, through the exporter's own resolver
// against tests/peers/zone_dns.py on loopback (tests/integration/sender_dns_zones.yml):
//
//   bench_sender_dns [--rounds 50]
//
// One round is what a runner does per interval for 4 egress IPs x 10 sender domains: 40 SPF
// evaluations, 4 forward-confirmed reverse DNS checks, 10 DMARC discoveries, all started at once.
// Each round is run three ways: without a cache, with a fresh cache (a round after every TTL ran
// out: an interval longer than the records' TTLs, 300 s here), and with a warm one (within the
// TTLs). Prints queries and process CPU per round (median of --rounds), and CPU per hour at
// intervals of 5 min, 15 min and 1 h. Figures go to bench/README.md; nothing is asserted.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "probes/dns/dmarc.hpp"
#include "probes/dns/reverse_dns.hpp"
#include "tests/support/harness.hpp"
#include "tests/support/spf_fleet.hpp"

namespace asio = boost::asio;
namespace probes = smtp_exporter::probes;

namespace {

struct round_cost {
  int queries = 0;
  double cpu_ms = 0;
};

// SPF for the fleet, then FCrDNS of each egress IP and DMARC of each domain.
round_cost one_round(asio::io_context& io, probes::dns_lookup& lookup,
                     smtp_test::counting_dns_lookup& counter,
                     const probes::public_suffix_list& psl) {
  const int before = counter.queries;
  const double cpu_before = smtp_test::process_cpu_seconds();
  smtp_test::run_spf_fleet(io, lookup, counter);
  for (const auto& ip : smtp_test::fleet_egress_ips()) {
    asio::co_spawn(io,
                   probes::check_reverse_dns(lookup, asio::ip::make_address(ip),
                                             std::chrono::seconds(5)),
                   [](std::exception_ptr, probes::reverse_dns_outcome) {});
  }
  for (int d = 0; d < smtp_test::fleet_domains; ++d) {
    asio::co_spawn(io,
                   probes::check_dmarc(lookup, psl, "d" + std::to_string(d) + ".example",
                                       std::chrono::seconds(5)),
                   [](std::exception_ptr, probes::dmarc_outcome) {});
  }
  io.restart();
  io.run();
  return {counter.queries - before, (smtp_test::process_cpu_seconds() - cpu_before) * 1000};
}

void report(const char* name, std::vector<round_cost> rounds) {
  std::sort(rounds.begin(), rounds.end(),
            [](const round_cost& a, const round_cost& b) { return a.cpu_ms < b.cpu_ms; });
  const round_cost& median = rounds[rounds.size() / 2];
  std::printf("%-34s %4d queries, CPU %.2f ms/round (p90 %.2f); per hour at 5m %.1f ms, "
              "15m %.1f ms, 1h %.2f ms\n",
              name, median.queries, median.cpu_ms, rounds[rounds.size() * 9 / 10].cpu_ms,
              median.cpu_ms * 12, median.cpu_ms * 4, median.cpu_ms);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 50;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--rounds") {
      rounds = std::max(1, std::atoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  smtp_test::temp_dir dir;
  std::vector<std::uint16_t> ports;
  const auto server = smtp_test::start_zone_dns(
      dir, {smtp_test::source_dir() / "tests/integration/sender_dns_zones.yml"}, ports);
  if (!server || ports.size() != 2) {
    std::fprintf(stderr, "zone_dns.py did not start\n");
    return 1;
  }
  asio::io_context io;
  probes::dns_resolver_options options;
  options.servers = {"127.0.0.1:" + std::to_string(ports[1])};
  options.attempt_timeout = std::chrono::milliseconds(500);
  options.final_error_answers = true;
  probes::dns_resolver resolver(io.get_executor(), options);
  probes::resolver_dns_lookup direct(resolver);
  smtp_test::counting_dns_lookup counter(direct);
  const auto psl = probes::public_suffix_list::load();

  std::vector<round_cost> uncached, cold, warm;
  probes::cached_dns_lookup warm_cache(counter);
  one_round(io, warm_cache, counter, *psl);  // fills it
  for (int i = 0; i < rounds; ++i) {
    uncached.push_back(one_round(io, counter, counter, *psl));
    probes::cached_dns_lookup cold_cache(counter);
    cold.push_back(one_round(io, cold_cache, counter, *psl));
    warm.push_back(one_round(io, warm_cache, counter, *psl));
  }
  std::printf("4 egress IPs x 10 sender domains: 40 SPF + 4 FCrDNS + 10 DMARC per round, "
              "%d rounds (median)\n", rounds);
  report("without a cache", uncached);
  report("shared cache, TTLs ran out", cold);
  report("shared cache, within the TTLs", warm);
  return 0;
}
