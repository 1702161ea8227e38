#include "exporter/dnsbl/zones.hpp"

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "common/bounded_read.hpp"
#include "common/secret.hpp"

namespace smtp_exporter::exporter {

// The key never goes into `error`: it is a credential.
std::optional<std::string> dnsbl_query_suffix(const config::dnsbl_zone& zone, std::string& error) {
  std::string key;
  if (!zone.dqs_key_env.empty()) {
    const char* value = std::getenv(zone.dqs_key_env.c_str());
    if (value == nullptr) {
      error = "DQS key: environment variable " + zone.dqs_key_env + " is unset";
      return std::nullopt;
    }
    key = value;
  } else if (!zone.dqs_key_file.empty()) {
    const auto read = read_bounded_file(zone.dqs_key_file, max_dqs_key_file_bytes);
    if (!read.ok()) {
      // What a missing or unreadable file said before; a FIFO, a device or an oversized file
      // (which used to hang the loop or fill memory) also say why.
      error = "DQS key: cannot read " + zone.dqs_key_file;
      if (read.failure == read_failure::not_regular || read.failure == read_failure::too_large)
        error += ": " + read.why(max_dqs_key_file_bytes);
      return std::nullopt;
    }
    // The first line is the key.
    const std::string_view text = read.text.reveal();
    key.assign(text.substr(0, text.find('\n')));
  } else {
    return zone.name;
  }
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t'))
    key.pop_back();
  const bool valid = !key.empty() && key.size() <= 63 &&
                     std::all_of(key.begin(), key.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9');
                     });
  if (!valid) {
    cleanse(key);
    error = "DQS key: not a key (want letters and digits, one DNS label)";
    return std::nullopt;
  }
  std::string suffix = key + "." + zone.name;
  cleanse(key);
  return suffix;
}

bool reads_key_file(const config::dnsbl_zone& zone) {
  return zone.dqs_key_env.empty() && !zone.dqs_key_file.empty();
}

bool same_queries(const config::dnsbl_zone& a, const config::dnsbl_zone& b) {
  return a.name == b.name && a.servers == b.servers && a.dqs_key_file == b.dqs_key_file &&
         a.dqs_key_env == b.dqs_key_env && a.timeout == b.timeout;
}

}  // namespace smtp_exporter::exporter
