// The resolvers DNSBL uses: for a zone's queries, for egress discovery, for the targets' names.
//
// Thread-safety: call on the executor the resolver will run on.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "probes/dns/resolver.hpp"

namespace smtp_exporter::exporter {

// A resolver for DNSBL queries through `servers` (empty: the system's), SERVFAIL and REFUSED
// taken as answers; nullptr with `error` if c-ares cannot start.
std::shared_ptr<probes::dns_resolver> make_dnsbl_resolver(
    const boost::asio::any_io_executor& executor, const std::vector<std::string>& servers,
    std::chrono::milliseconds timeout, std::string& error);

}  // namespace smtp_exporter::exporter
