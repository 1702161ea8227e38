// DNSBL wording shared by the status page, the diagnose section and the logs.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace smtp_exporter::exporter {

// A listing's return codes as a person reads them: "127.0.0.2, 127.0.0.4".
std::string return_codes_text(const std::vector<int>& codes);

}  // namespace smtp_exporter::exporter
