// Provider presets from the project's seed document (docs/providers.md lists them).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace smtp_exporter::config {

struct provider_port {
  std::uint16_t port;
  tls_mode tls;
};

struct provider_preset {
  std::string_view name;         // "gmail"
  std::string_view display_name; // "Gmail"
  std::string_view host;         // "smtp.gmail.com"
  std::vector<provider_port> ports;  // every port the seed lists; the first is the default
  bool authorization_code;       // the password is an app-specific authorization code (qq, 163)
  // What the SMTP password is, when it is not the mailbox password (from the seed); else empty.
  std::string_view password_note = {};
};

std::span<const provider_preset> provider_presets();
const provider_preset* find_provider(std::string_view name);

// The TLS mode a port gets when the config does not say: the preset's mode for that port if it
// lists it, else 465 is implicit TLS (RFC 8314) and every other port upgrades with STARTTLS.
tls_mode tls_mode_for_port(const provider_preset* preset, std::uint16_t port);

}  // namespace smtp_exporter::config
