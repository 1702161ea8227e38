// One verdict of each sender check, as the runner and diagnose record it: the probes/dns checks'
// outcomes turned into the status entries (result names, error classes, details).
//
// Thread-safety: none; run on the dns_lookup's executor.
#pragma once

#include <chrono>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "exporter/sender/status.hpp"
#include "probes/dns/dns_lookup.hpp"
#include "probes/dns/public_suffix.hpp"

namespace smtp_exporter::exporter {

boost::asio::awaitable<reverse_dns_entry> evaluate_reverse_dns(probes::dns_lookup& dns,
                                                               std::string ip,
                                                               std::chrono::milliseconds timeout);
// SPF of `ip` for `domain`, MAIL FROM postmaster@domain, HELO `helo`.
boost::asio::awaitable<spf_entry> evaluate_spf(probes::dns_lookup& dns, std::string domain,
                                               std::string ip, std::string helo,
                                               std::chrono::milliseconds timeout);
// `psl` null: the list could not be loaded (`psl_error`); the domain is then checked without the
// organisational-domain fallback being possible, which is an error, never "absent".
boost::asio::awaitable<dmarc_entry> evaluate_dmarc(probes::dns_lookup& dns,
                                                   const probes::public_suffix_list* psl,
                                                   std::string psl_error, std::string domain,
                                                   std::chrono::milliseconds timeout);

// What the provider requires, in words, for a verdict (status page, diagnose, logs).
std::string reverse_dns_advice(const reverse_dns_entry& e);
std::string spf_advice(const spf_entry& e);
std::string dmarc_advice(const dmarc_entry& e);

}  // namespace smtp_exporter::exporter
