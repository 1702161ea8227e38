// An https:// URL as the exporter accepts one for a token endpoint: the one parser, used by
// config/ to refuse a bad `token_url` at load time (with its FILE:LINE:COL) and by
// probes/oauth/token_client before it connects, so the two can never disagree.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace smtp_exporter {

struct https_url_parts {
  std::string host;  // without brackets
  std::uint16_t port = 443;
  std::string target;  // path and query, "/" when empty
};

// nullopt unless `url` is "https://host[:port][/path][?query]": the scheme compared
// case-insensitively; no user info (it would put a credential in the URL), no fragment, no space
// or control byte, a host, and a port (when written) from 1 to 65535.
std::optional<https_url_parts> parse_https_url(std::string_view url);

}  // namespace smtp_exporter
