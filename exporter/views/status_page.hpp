// The HTML pages a person reads: the status page at "/" (every target's last results at a glance)
// and /probe/debug?target=NAME (one target's last run, step by step). Plain server-rendered HTML
// with inline CSS and no script or external asset, so it works offline and behind any proxy.
//
// Everything that comes from the config or from a server is HTML-escaped here, once.
//
// Thread-safety: pure functions over values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/text_escape.hpp"  // html_escape: the pages of other checks use it too
#include "exporter/schedule/target_status.hpp"

namespace smtp_exporter::exporter {

struct status_page_options {
  std::string telemetry_path = "/metrics";
  // With 10,000 targets the page stays readable and cheap: failing targets come first, and rows
  // past this many are counted, not shown.
  std::size_t max_rows = 1000;
  double now = 0;  // Unix seconds, for ages and certificate days left
  // Sharding (--shard.*): which share of the configured targets this replica shows.
  std::uint32_t shard_index = 0;
  std::uint32_t shard_count = 1;
  std::size_t configured_targets = 0;
};

// `targets` in any order (status_store's snapshots give them by name). The shared form reads the
// published records in place (status_store::shared_snapshot), with no copy of 10,000 records.
// `extra_sections`: HTML of checks that are not SMTP sessions, rendered and escaped by their
// owners, appended after the targets (DNSBL: exporter/dnsbl/page.cpp).
std::string render_status_page(const std::vector<target_status>& targets,
                               const status_page_options& options,
                               std::string_view extra_sections = {});
std::string render_status_page(const std::vector<std::shared_ptr<const target_status>>& targets,
                               const status_page_options& options,
                               std::string_view extra_sections = {});

// "Provider credentials": for each preset the targets use (names in any order, repeats and
// unknown names ignored), what the provider sheet said and what works now (config/presets.hpp
// credential_rule), and how many targets still use a password where only OAuth 2.0 works.
// One pair per target: its provider, and whether it uses a password source. Empty when no target
// uses a preset with a rule.
std::string render_provider_credentials_section(
    const std::vector<std::pair<std::string, bool>>& provider_uses_password);

// The last run of one target: results, timings, TLS facts, advice, and the (redacted) transcript.
std::string render_debug_page(const target_status& target, double now);


}  // namespace smtp_exporter::exporter
