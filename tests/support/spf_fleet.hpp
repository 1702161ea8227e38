// Test support: SPF for a fleet of 4 egress IPs x 10 sender domains (d0.example ... d9.example in
// tests/integration/sender_dns_zones.yml), all evaluations started at once as a runner would start
// them, with the queries that reached the resolver and the process CPU they cost. Shared by
// tests/integration/sender_dns_test.cpp and bench/bench_sender_dns.cpp. Header-only.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "probes/dns/dns_lookup.hpp"
#include "probes/dns/spf.hpp"

namespace smtp_test {

// Counts the queries that pass through it.
class counting_dns_lookup final : public smtp_exporter::probes::dns_lookup {
 public:
  explicit counting_dns_lookup(smtp_exporter::probes::dns_lookup& inner) : inner_(inner) {}
  boost::asio::awaitable<smtp_exporter::probes::dns_answer> query(
      std::string name, smtp_exporter::probes::dns_record_type type,
      std::chrono::steady_clock::time_point deadline) override {
    ++queries;
    co_return co_await inner_.query(std::move(name), type, deadline);
  }
  int queries = 0;

 private:
  smtp_exporter::probes::dns_lookup& inner_;
};

inline double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

struct fleet_round {
  int queries_sent = 0;   // that reached `counter`
  int queries_asked = 0;  // by the evaluations (cache hits included)
  double cpu_seconds = 0;
  std::map<std::string, int> results;
  std::string describe() const {
    std::ostringstream out;
    out << queries_sent << " queries sent (" << queries_asked << " asked), CPU "
        << cpu_seconds * 1000 << " ms; results";
    for (const auto& [result, n] : results) out << " " << result << "=" << n;
    return out.str();
  }
};

inline const std::vector<std::string>& fleet_egress_ips() {
  static const std::vector<std::string> ips{"192.0.2.10", "192.0.2.11", "192.0.2.12",
                                            "192.0.2.13"};
  return ips;
}
inline constexpr int fleet_domains = 10;

// One round: check_spf for every egress IP and domain through `lookup`, which ends in `counter`.
inline fleet_round run_spf_fleet(boost::asio::io_context& io,
                                 smtp_exporter::probes::dns_lookup& lookup,
                                 counting_dns_lookup& counter) {
  namespace probes = smtp_exporter::probes;
  fleet_round round;
  const int before = counter.queries;
  const double cpu_before = process_cpu_seconds();
  for (const auto& ip : fleet_egress_ips()) {
    for (int d = 0; d < fleet_domains; ++d) {
      const std::string domain = "d" + std::to_string(d) + ".example";
      boost::asio::co_spawn(
          io,
          probes::check_spf(lookup, boost::asio::ip::make_address(ip), domain, "bounce@" + domain,
                            "mail.example.net", std::chrono::seconds(5)),
          [&round](std::exception_ptr e, probes::spf_outcome o) {
            if (e) return;
            round.queries_asked += o.queries;
            ++round.results[std::string(probes::spf_result_name(o.result))];
          });
    }
  }
  io.restart();
  io.run();
  round.cpu_seconds = process_cpu_seconds() - cpu_before;
  round.queries_sent = counter.queries - before;
  return round;
}

}  // namespace smtp_test
