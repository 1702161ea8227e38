// Provider presets from the project's seed document (docs/providers.md lists them), with what the
// seed got wrong corrected as data: each preset carries what the sheet said the credential is and
// what the provider takes now, and the token facts of its OAuth 2.0 endpoint when it has one.
//
// Thread-safety: the presets are immutable after first use; every function is reentrant.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"

namespace smtp_exporter::config {

struct provider_port {
  std::uint16_t port;
  tls_mode tls;
};

// What a provider's SMTP AUTH takes, as the seed sheet said it and as the provider takes it
// today (issue 20). Printed by diagnose and the status page; `password_warning` is what
// --config.check says when a target of the preset uses a password source.
struct credential_rule {
  std::string_view sheet_said;  // "your Gmail password"
  std::string_view works_now;   // "an app password (2-Step Verification on) or OAuth 2.0"
  bool oauth_only = false;      // no password source can work: only [target.auth.oauth2] or a token
  std::string_view password_warning = {};  // empty: a password source draws no warning
};

// A provider's OAuth 2.0 token endpoint. A flow the provider has no SMTP grant for has an empty
// scope: the target must then write token_url and scope itself.
struct oauth2_preset {
  // "{tenant}" stands for the Microsoft tenant (the `tenant` key, default `default_tenant`).
  std::string_view token_url;
  std::array<std::string_view, 3> scope_by_flow{};  // indexed by oauth2_flow
  // Used for the refresh_token flow when no tenant is written; empty: the URL has no tenant.
  std::string_view default_tenant = {};
  bool has_tenant() const { return !default_tenant.empty(); }
  std::string_view scope(oauth2_flow flow) const {
    return scope_by_flow[static_cast<std::size_t>(flow)];
  }
};

struct provider_preset {
  std::string_view name;         // "gmail"
  std::string_view display_name; // "Gmail"
  std::string_view host;         // "smtp.gmail.com"
  std::vector<provider_port> ports;  // every port the seed lists; the first is the default
  bool authorization_code;       // the password is an app-specific authorization code (qq, 163)
  // What the SMTP password is, when it is not the mailbox password (from the seed); else empty.
  std::string_view password_note = {};
  credential_rule credentials = {};
  std::optional<oauth2_preset> oauth2 = {};  // nullopt: no token facts known
};

std::span<const provider_preset> provider_presets();
const provider_preset* find_provider(std::string_view name);

// The credential rule of a preset by name; nullopt for a name that is no preset (or empty).
std::optional<credential_rule> credential_rule_for(std::string_view provider);

// The preset's token URL with `tenant` in place of "{tenant}".
std::string oauth2_token_url(const oauth2_preset& preset, std::string_view tenant);

// The TLS mode a port gets when the config does not say: the preset's mode for that port if it
// lists it, else 465 is implicit TLS (RFC 8314) and every other port upgrades with STARTTLS.
tls_mode tls_mode_for_port(const provider_preset* preset, std::uint16_t port);

}  // namespace smtp_exporter::config
