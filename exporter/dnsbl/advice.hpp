// What to do about a DNSBL result, in the reader's terms: a listing (with the zone's delisting
// link) or an error that is not a listing. Used by the diagnose section; docs/diagnose.md.
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <vector>

#include "probes/dns/dnsbl.hpp"

namespace smtp_exporter::exporter {

// Empty for not_listed.
std::vector<std::string> dnsbl_advice(probes::dnsbl_result result, const std::string& zone,
                                      const std::string& delist_url, bool blocking);

}  // namespace smtp_exporter::exporter
