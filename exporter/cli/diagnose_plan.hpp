// diagnose, planning: from the flags (and the config file, when given) to what to probe. No
// network, no secret read: unit-tested with plain values (tests/unit/diagnose_plan_test.cpp).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "config/presets.hpp"
#include "exporter/cli/diagnose.hpp"
#include "probes/core/result.hpp"
#include "probes/oauth/token_cache.hpp"

namespace boost::asio::ssl {
class context;
}

namespace smtp_exporter::exporter {

struct port_plan {
  std::uint16_t port = 0;
  config::tls_mode mode = config::tls_mode::starttls;
  // ip_protocol = "both" (--ip-protocol both, or the config target's): each port is tried once
  // per family, each a port_plan of its own; none otherwise.
  config::ip_family family = config::ip_family::none;
};

// What to probe: one target's settings and the ports to try with them.
struct plan {
  std::string source;  // "config", "provider" or "address"
  config::target target;
  const config::provider_preset* provider = nullptr;
  std::vector<port_plan> ports;
  std::shared_ptr<boost::asio::ssl::context> tls_context;  // set by prepare_plan()
  // The config file, when given: its check kinds' sections (exporter/checks) are diagnosed too.
  std::shared_ptr<const config::exporter_config> config;
  // [auth.oauth2] of a config target: its credential (set by prepare_plan) and, once the token
  // step ran (which takes the credential), its source, which the sessions then use (no second token request).
  std::shared_ptr<probes::oauth::credential> oauth;
  std::shared_ptr<probes::oauth::token_source> token;
  // --deliver-to: the IMAP server's trust store and, with [target.delivery.imap.auth.oauth2], its
  // token source (set by prepare_plan).
  std::shared_ptr<boost::asio::ssl::context> imap_tls;
  std::shared_ptr<probes::oauth::credential> imap_oauth;
  std::shared_ptr<probes::oauth::token_source> imap_token;
  std::shared_ptr<probes::oauth::token_cache> imap_tokens;  // owns imap_token's refreshes
};

// "host:port", "[v6]:port", "host", "v6" (common/host_port.hpp splits). Port 0 when absent.
bool split_address(const std::string& text, std::string& host, std::uint16_t& port,
                   std::string& error);

// Builds the plan from the flags; false with `error` set on a usage or configuration error.
bool make_plan(const diagnose_options& o, plan& p, std::string& error);

// The plan's target on `port`.
config::target port_target(const plan& p, const port_plan& port);
// The probes due on `port`, in stage order: those whose stage applies to the settings
// (stage_info::applies): banner always; tls unless plain text; auth with credentials; envelope
// with addresses.
std::array<bool, probes::probe_kind_count> probes_due(const plan& p, const port_plan& port);

}  // namespace smtp_exporter::exporter
