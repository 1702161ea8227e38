// The registered kinds of check beside the SMTP sessions: the one list the app hosts on its
// scheduler and the diagnose command runs. A new kind (reverse DNS, SPF, …) is one line here and
// its own folder (exporter/dnsbl shows the shape); nothing else names it.
//
// Thread-safety: make_check_runners is a pure factory; see check_runner for the runners.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "exporter/schedule/check_runner.hpp"

namespace smtp_exporter::exporter {

// One runner per registered kind, in a stable order (the order of the status page sections, the
// metric families and the diagnose sections). `executor` runs the checks; `blocking` is where
// they read files (key files, secrets), never the event loop.
std::vector<std::shared_ptr<check_runner>> make_check_runners(
    const boost::asio::any_io_executor& executor, const boost::asio::any_io_executor& blocking);

using check_runners = std::vector<std::shared_ptr<check_runner>>;

// Every runner's metric families, in the runners' order (a scrape's; any thread).
std::vector<prometheus::MetricFamily> check_families(const check_runners& runners);
// Every runner's status-page section, in the runners' order (any thread).
std::string check_sections(const check_runners& runners);

}  // namespace smtp_exporter::exporter
