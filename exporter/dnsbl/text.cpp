#include "exporter/dnsbl/text.hpp"

namespace smtp_exporter::exporter {

std::string return_codes_text(const std::vector<int>& codes) {
  std::string out;
  for (int c : codes) out += (out.empty() ? "127.0.0." : ", 127.0.0.") + std::to_string(c);
  return out;
}

}  // namespace smtp_exporter::exporter
