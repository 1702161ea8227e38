// Provider presets, transcribed from the seed's "SMTP references" table
// (shared/seeds/smtp-sheets.md). The first port of each entry is the one the seed recommends or
// lists first, and is what a target gets when it names the provider without a port.
//
// Where the seed is out of date (issue 20) the preset says so as data: `credentials` keeps what
// the sheet said beside what works now, hotmail's host is the one Microsoft serves today, and
// office365 is not in the seed at all. Facts as of December 2026; docs/providers.md cites them.
#include "config/presets.hpp"

#include <algorithm>
#include <array>

namespace smtp_exporter::config {
namespace {

// Google: one endpoint and one scope for the delegated and the service-account grants; there is
// no client-credentials grant for Gmail.
constexpr oauth2_preset google_oauth2{
    "https://oauth2.googleapis.com/token",
    {"https://mail.google.com/", "", "https://mail.google.com/"}};

// Microsoft identity platform v2.0: the delegated SMTP.Send scope (with offline_access, so a
// refresh token comes back) or, for app-only tokens, Exchange Online's .default scope. No
// service-account grant.
constexpr oauth2_preset microsoft_oauth2{
    "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
    {"https://outlook.office.com/SMTP.Send offline_access",
     "https://outlook.office365.com/.default", ""},
    "common"};

static_assert(static_cast<std::size_t>(oauth2_flow::refresh_token) == 0 &&
                  static_cast<std::size_t>(oauth2_flow::client_credentials) == 1 &&
                  static_cast<std::size_t>(oauth2_flow::service_account) == 2,
              "scope_by_flow is indexed by oauth2_flow");


}  // namespace

std::span<const provider_preset> provider_presets() {
  // Function-local so the vectors are built on first use, not during static initialisation.
  static const std::array<provider_preset, 11> presets{{
      // The seed: "465 or 587 for SSL-encrypted email"; 465 is implicit TLS, 587 upgrades.
      {"qq", "QQ Mail", "smtp.qq.com",
       {{465, tls_mode::implicit}, {587, tls_mode::starttls}}, true,
       "an authorization code applied for in QQ Mail's settings, not the mailbox password",
       {"an authorization code you need to apply for, not the mailbox password",
        "an authorization code (授权码) generated in QQ Mail's settings, not the login password"}},
      {"163", "163 Mail (NetEase)", "smtp.163.com",
       {{465, tls_mode::implicit}, {994, tls_mode::implicit}}, true,
       "an authorization code applied for in 163 Mail's settings, not the mailbox password",
       {"an authorization code you need to apply for, not the mailbox password",
        "an authorization code (授权码) generated in 163 Mail's settings, not the login password"}},
      {"aliyun", "Aliyun Mail", "smtp.mxhichina.com", {{465, tls_mode::implicit}}, false, {},
       {"the email password", "the email password (no change known)"}},
      // 587 first: 25 is blocked outbound by most cloud networks.
      {"sendgrid", "SendGrid", "smtp.sendgrid.net",
       {{587, tls_mode::starttls}, {25, tls_mode::starttls}, {465, tls_mode::implicit}}, false, {},
       {"your SendGrid account user name and password",
        "the user name \"apikey\" with an API key as the password"}},
      {"gmail", "Gmail", "smtp.gmail.com",
       {{587, tls_mode::starttls}, {465, tls_mode::implicit}}, false, {},
       {"your Gmail password", "an app password (2-Step Verification on) or OAuth 2.0"},
       google_oauth2},
      {"outlook", "Outlook.com", "smtp-mail.outlook.com", {{587, tls_mode::starttls}}, false, {},
       {"your Outlook.com password", "OAuth 2.0 only (since September 2024)", true,
        "Outlook.com takes OAuth 2.0 only since September 2024: see [target.auth.oauth2]"},
       microsoft_oauth2},
      // The seed's smtp.live.com is retired: Hotmail and Live accounts send through
      // smtp-mail.outlook.com, under Outlook.com's rules.
      {"hotmail", "Hotmail", "smtp-mail.outlook.com", {{587, tls_mode::starttls}}, false, {},
       {"your Windows Live Hotmail password (at smtp.live.com)",
        "OAuth 2.0 only (since September 2024), at smtp-mail.outlook.com", true,
        "Hotmail takes OAuth 2.0 only since September 2024: see [target.auth.oauth2]"},
       microsoft_oauth2},
      {"yahoo", "Yahoo Mail", "smtp.mail.yahoo.com",
       {{465, tls_mode::implicit}, {587, tls_mode::starttls}}, false, {},
       {"your Yahoo Mail password",
        "an app password generated in the Yahoo account's security settings"}},
      {"icloud", "iCloud Mail", "smtp.mail.me.com", {{587, tls_mode::starttls}}, false,
       "an app-specific password, not the Apple ID password",
       {"an app-specific iCloud Mail password",
        "an app-specific password (two-factor authentication on), not the Apple ID password"}},
      {"zoho", "Zoho Mail", "smtp.zoho.com", {{465, tls_mode::implicit}}, false, {},
       {"your Zoho Mail password",
        "the account password, or an app-specific password when two-factor authentication is "
        "on"}},
      // Not in the seed (issue 20): Exchange Online mailboxes.
      {"office365", "Microsoft 365", "smtp.office365.com", {{587, tls_mode::starttls}}, false, {},
       {"(not in the sheet)",
        "OAuth 2.0; Basic authentication (passwords) off by default from the end of December "
        "2026 (MC786329)",
        false,
        "Microsoft 365 turns SMTP AUTH with passwords (Basic authentication) off by default at "
        "the end of December 2026 (MC786329): see [target.auth.oauth2]"},
       microsoft_oauth2},
  }};
  return presets;
}

const provider_preset* find_provider(std::string_view name) {
  const auto presets = provider_presets();
  const auto it = std::find_if(presets.begin(), presets.end(),
                               [name](const provider_preset& p) { return p.name == name; });
  return it == presets.end() ? nullptr : &*it;
}

std::optional<credential_rule> credential_rule_for(std::string_view provider) {
  const provider_preset* preset = find_provider(provider);
  if (preset == nullptr) return std::nullopt;
  return preset->credentials;
}

std::string oauth2_token_url(const oauth2_preset& preset, std::string_view tenant) {
  std::string url(preset.token_url);
  constexpr std::string_view placeholder = "{tenant}";
  if (const auto at = url.find(placeholder); at != std::string::npos)
    url.replace(at, placeholder.size(), tenant);
  return url;
}

tls_mode tls_mode_for_port(const provider_preset* preset, std::uint16_t port) {
  if (preset != nullptr) {
    for (const provider_port& p : preset->ports)
      if (p.port == port) return p.tls;
  }
  // 465 is the submissions port (RFC 8314): TLS from the first byte. Everything else upgrades.
  return port == 465 ? tls_mode::implicit : tls_mode::starttls;
}

}  // namespace smtp_exporter::config
