#include "exporter/checks/check_kinds.hpp"

#include "exporter/dnsbl/runner.hpp"
#include "exporter/schedule/egress_registry.hpp"
#include "exporter/sender/runner.hpp"

namespace smtp_exporter::exporter {

std::vector<std::shared_ptr<check_runner>> make_check_runners(
    const boost::asio::any_io_executor& executor, const boost::asio::any_io_executor& blocking) {
  // DNSBL publishes the egress IPs it knows (configured, discovered); sender readiness checks
  // their reverse DNS and SPF. In this order: diagnose runs the kinds in it.
  auto egress = std::make_shared<egress_registry>();
  return {
      std::make_shared<dnsbl_runner>(executor, blocking, egress),
      std::make_shared<sender_runner>(executor, blocking, egress),
  };
}

std::vector<prometheus::MetricFamily> check_families(const check_runners& runners) {
  std::vector<prometheus::MetricFamily> out;
  for (const auto& r : runners) {
    for (auto& f : r->families()) out.push_back(std::move(f));
  }
  return out;
}

std::string check_sections(const check_runners& runners) {
  std::string out;
  for (const auto& r : runners) out += r->status_section();
  return out;
}

}  // namespace smtp_exporter::exporter
