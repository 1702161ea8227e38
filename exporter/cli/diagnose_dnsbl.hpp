// `diagnose`'s last checklist item: is this machine's egress IP on a block list? With [dnsbl]
// enabled in the config, finds the egress IPs (configured, or discovered once) and looks each up
// once in every zone, printing a line per lookup as it completes, and the advice for a listing.
#pragma once

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <ostream>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>

#include "config/dnsbl.hpp"
#include "probes/dns/dnsbl.hpp"

namespace smtp_exporter::exporter {

// Runs one awaitable on `io` until it completes (diagnose is sequential); rethrows its
// exception. run_one rather than run: a resolver may keep its own timers armed between steps.
template <typename T>
T run_to_completion(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> result;
  std::exception_ptr failure;
  io.restart();  // the previous step may have left the context stopped (out of work)
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T r) {
    if (e) {
      failure = e;
    } else {
      result = std::move(r);
    }
  });
  while (!result && !failure && io.run_one() > 0) {
  }
  if (failure) std::rethrow_exception(failure);
  if (!result) throw std::runtime_error("a diagnose step did not complete");
  return std::move(*result);
}

struct dnsbl_diagnosis {
  boost::json::array lookups;  // one object per (IP, zone): docs/diagnose.md
  std::size_t listed = 0;
  std::size_t listed_blocking = 0;
  std::size_t errors = 0;        // lookups and discovery that failed
  std::size_t egress_ips = 0;
};

// `text`: where to print the lines (nullptr for JSON output). Runs on `io` until done.
dnsbl_diagnosis diagnose_dnsbl(boost::asio::io_context& io, const config::dnsbl_settings& settings,
                               std::ostream* text);

// What to do about one result: a listing (with the zone's delisting link) or an error.
std::vector<std::string> dnsbl_advice(probes::dnsbl_result result, const std::string& zone,
                                      const std::string& delist_url, bool blocking);

}  // namespace smtp_exporter::exporter
