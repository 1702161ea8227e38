// Provider presets, transcribed from the seed's "SMTP references" table
// (shared/seeds/smtp-sheets.md). The first port of each entry is the one the seed recommends or
// lists first, and is what a target gets when it names the provider without a port.
#include "config/presets.hpp"

#include <algorithm>
#include <array>

namespace smtp_exporter::config {

std::span<const provider_preset> provider_presets() {
  // Function-local so the vectors are built on first use, not during static initialisation.
  static const std::array<provider_preset, 10> presets{{
      // The seed: "465 or 587 for SSL-encrypted email"; 465 is implicit TLS, 587 upgrades.
      {"qq", "QQ Mail", "smtp.qq.com",
       {{465, tls_mode::implicit}, {587, tls_mode::starttls}}, true,
       "an authorization code applied for in QQ Mail's settings, not the mailbox password"},
      {"163", "163 Mail (NetEase)", "smtp.163.com",
       {{465, tls_mode::implicit}, {994, tls_mode::implicit}}, true,
       "an authorization code applied for in 163 Mail's settings, not the mailbox password"},
      {"aliyun", "Aliyun Mail", "smtp.mxhichina.com", {{465, tls_mode::implicit}}, false},
      // 587 first: 25 is blocked outbound by most cloud networks.
      {"sendgrid", "SendGrid", "smtp.sendgrid.net",
       {{587, tls_mode::starttls}, {25, tls_mode::starttls}, {465, tls_mode::implicit}}, false},
      {"gmail", "Gmail", "smtp.gmail.com",
       {{587, tls_mode::starttls}, {465, tls_mode::implicit}}, false},
      {"outlook", "Outlook.com", "smtp-mail.outlook.com", {{587, tls_mode::starttls}}, false},
      {"hotmail", "Hotmail", "smtp.live.com", {{587, tls_mode::starttls}}, false},
      {"yahoo", "Yahoo Mail", "smtp.mail.yahoo.com",
       {{465, tls_mode::implicit}, {587, tls_mode::starttls}}, false},
      {"icloud", "iCloud Mail", "smtp.mail.me.com", {{587, tls_mode::starttls}}, false,
       "an app-specific password, not the Apple ID password"},
      {"zoho", "Zoho Mail", "smtp.zoho.com", {{465, tls_mode::implicit}}, false},
  }};
  return presets;
}

const provider_preset* find_provider(std::string_view name) {
  const auto presets = provider_presets();
  const auto it = std::find_if(presets.begin(), presets.end(),
                               [name](const provider_preset& p) { return p.name == name; });
  return it == presets.end() ? nullptr : &*it;
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
