#include "exporter/dnsbl/resolver.hpp"

#include <algorithm>
#include <exception>

namespace smtp_exporter::exporter {

std::shared_ptr<probes::dns_resolver> make_dnsbl_resolver(
    const boost::asio::any_io_executor& executor, const std::vector<std::string>& servers,
    std::chrono::milliseconds timeout, std::string& error) {
  probes::dns_resolver_options options;
  options.servers = servers;
  // Two tries per server within the timeout; the deadline still bounds the whole lookup.
  options.attempt_timeout = std::max(std::chrono::milliseconds(100), timeout / 2);
  options.tries = 2;
  options.final_error_answers = true;
  try {
    return std::make_shared<probes::dns_resolver>(executor, options);
  } catch (const std::exception& e) {
    error = e.what();
    return nullptr;
  }
}

}  // namespace smtp_exporter::exporter
