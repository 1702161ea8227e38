// The provider presets must match the seed's table (shared/seeds/smtp-sheets.md), corrected
// only where the provider changed since (issue 20, each correction named below): a wrong host or
// port here would make every user of the preset probe the wrong server.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/presets.hpp"

#ifndef SMTP_SOURCE_DIR
#error "SMTP_SOURCE_DIR must name the repository root (CMake defines it for unit_tests)"
#endif

namespace smtp_exporter::config {
namespace {

using port_list = std::vector<std::pair<std::uint16_t, tls_mode>>;

struct expected_preset {
  std::string_view name;
  std::string_view host;
  port_list ports;  // default first
  bool authorization_code;
};

port_list ports_of(const provider_preset& preset) {
  port_list out;
  for (const provider_port& p : preset.ports) out.emplace_back(p.port, p.tls);
  return out;
}

const std::vector<expected_preset>& seed_table() {
  static const std::vector<expected_preset> table = {
      {"qq", "smtp.qq.com", {{465, tls_mode::implicit}, {587, tls_mode::starttls}}, true},
      {"163", "smtp.163.com", {{465, tls_mode::implicit}, {994, tls_mode::implicit}}, true},
      {"aliyun", "smtp.mxhichina.com", {{465, tls_mode::implicit}}, false},
      {"sendgrid",
       "smtp.sendgrid.net",
       {{587, tls_mode::starttls}, {25, tls_mode::starttls}, {465, tls_mode::implicit}},
       false},
      {"gmail", "smtp.gmail.com", {{587, tls_mode::starttls}, {465, tls_mode::implicit}}, false},
      {"outlook", "smtp-mail.outlook.com", {{587, tls_mode::starttls}}, false},
      // The seed's smtp.live.com is retired; Hotmail sends through Outlook.com's server.
      {"hotmail", "smtp-mail.outlook.com", {{587, tls_mode::starttls}}, false},
      {"yahoo",
       "smtp.mail.yahoo.com",
       {{465, tls_mode::implicit}, {587, tls_mode::starttls}},
       false},
      {"icloud", "smtp.mail.me.com", {{587, tls_mode::starttls}}, false},
      {"zoho", "smtp.zoho.com", {{465, tls_mode::implicit}}, false},
      // Not in the seed: Exchange Online (issue 20).
      {"office365", "smtp.office365.com", {{587, tls_mode::starttls}}, false},
  };
  return table;
}

TEST(config_presets, match_the_seed_table) {
  ASSERT_EQ(provider_presets().size(), seed_table().size());
  for (const expected_preset& expected : seed_table()) {
    SCOPED_TRACE(std::string(expected.name));
    const provider_preset* preset = find_provider(expected.name);
    ASSERT_NE(preset, nullptr);
    EXPECT_EQ(preset->name, expected.name);
    EXPECT_EQ(preset->host, expected.host);
    EXPECT_EQ(ports_of(*preset), expected.ports);
    EXPECT_EQ(preset->authorization_code, expected.authorization_code);
    EXPECT_FALSE(preset->display_name.empty());
  }
}

TEST(config_presets, names_are_unique_and_in_seed_order) {
  std::set<std::string_view> seen;
  std::size_t i = 0;
  for (const provider_preset& preset : provider_presets()) {
    EXPECT_TRUE(seen.insert(preset.name).second) << preset.name;
    EXPECT_EQ(preset.name, seed_table().at(i++).name);
  }
}

TEST(config_presets, password_notes_from_the_seed) {
  EXPECT_NE(find_provider("qq")->password_note.find("authorization code"), std::string_view::npos);
  EXPECT_NE(find_provider("163")->password_note.find("authorization code"), std::string_view::npos);
  EXPECT_NE(find_provider("icloud")->password_note.find("app-specific"), std::string_view::npos);
  EXPECT_TRUE(find_provider("gmail")->password_note.empty());
}

// What the sheet said beside what works now, per provider (docs/providers.md's table).
TEST(config_presets, credential_rules_say_what_the_sheet_said_and_what_works_now) {
  struct expected_rule {
    std::string_view provider, sheet_said_has, works_now_has;
    bool oauth_only;
  };
  const expected_rule rules[] = {
      {"qq", "authorization code", "授权码", false},
      {"163", "authorization code", "授权码", false},
      {"aliyun", "password", "password", false},
      {"sendgrid", "account user name and password", "\"apikey\" with an API key", false},
      {"gmail", "your Gmail password", "an app password (2-Step Verification on) or OAuth 2.0",
       false},
      {"outlook", "your Outlook.com password", "OAuth 2.0 only (since September 2024)", true},
      {"hotmail", "Hotmail password", "OAuth 2.0 only (since September 2024)", true},
      {"yahoo", "Yahoo Mail password", "app password", false},
      {"icloud", "app-specific", "app-specific password", false},
      {"zoho", "Zoho Mail password", "app-specific password when two-factor", false},
      {"office365", "not in the sheet", "end of December 2026 (MC786329)", false},
  };
  ASSERT_EQ(std::size(rules), provider_presets().size());
  for (const expected_rule& expected : rules) {
    SCOPED_TRACE(std::string(expected.provider));
    const std::optional<credential_rule> rule = credential_rule_for(expected.provider);
    ASSERT_TRUE(rule.has_value());
    EXPECT_NE(rule->sheet_said.find(expected.sheet_said_has), std::string_view::npos)
        << rule->sheet_said;
    EXPECT_NE(rule->works_now.find(expected.works_now_has), std::string_view::npos)
        << rule->works_now;
    EXPECT_EQ(rule->oauth_only, expected.oauth_only);
    // A provider that refuses passwords says so when a target gives it one.
    if (rule->oauth_only) {
      EXPECT_FALSE(rule->password_warning.empty());
    }
  }
  EXPECT_FALSE(credential_rule_for("gmx").has_value());
  EXPECT_FALSE(credential_rule_for("").has_value());
}

// The token endpoint and scope each preset gives [target.auth.oauth2], per flow; an empty scope
// is a flow the provider has no SMTP grant for.
TEST(config_presets, oauth2_token_facts) {
  const auto facts = [](std::string_view name) { return find_provider(name)->oauth2; };
  ASSERT_TRUE(facts("gmail").has_value());
  EXPECT_EQ(facts("gmail")->token_url, "https://oauth2.googleapis.com/token");
  EXPECT_EQ(facts("gmail")->scope(oauth2_flow::refresh_token), "https://mail.google.com/");
  EXPECT_EQ(facts("gmail")->scope(oauth2_flow::service_account), "https://mail.google.com/");
  EXPECT_EQ(facts("gmail")->scope(oauth2_flow::client_credentials), "");
  EXPECT_FALSE(facts("gmail")->has_tenant());
  for (const std::string_view microsoft : {"outlook", "hotmail", "office365"}) {
    SCOPED_TRACE(std::string(microsoft));
    ASSERT_TRUE(facts(microsoft).has_value());
    EXPECT_EQ(oauth2_token_url(*facts(microsoft), "contoso.onmicrosoft.com"),
              "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
    EXPECT_EQ(facts(microsoft)->default_tenant, "common");
    EXPECT_EQ(facts(microsoft)->scope(oauth2_flow::refresh_token),
              "https://outlook.office.com/SMTP.Send offline_access");
    EXPECT_EQ(facts(microsoft)->scope(oauth2_flow::client_credentials),
              "https://outlook.office365.com/.default");
    EXPECT_EQ(facts(microsoft)->scope(oauth2_flow::service_account), "");
  }
  for (const std::string_view other : {"qq", "163", "aliyun", "sendgrid", "yahoo", "icloud", "zoho"})
    EXPECT_FALSE(facts(other).has_value()) << other;
}

// docs/providers.md prints both tables from the code's values: a preset edited without its page
// (or the page without the code) fails here.
TEST(config_presets, providers_page_states_what_the_code_holds) {
  std::ifstream in(SMTP_SOURCE_DIR "/docs/providers.md");
  ASSERT_TRUE(in.good());
  const std::string page((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const provider_preset& preset : provider_presets()) {
    SCOPED_TRACE(std::string(preset.name));
    const std::string name = "| `" + std::string(preset.name) + "` | ";
    const std::string preset_row = name + std::string(preset.display_name) + " | `" +
                                   std::string(preset.host) + "` | ";
    EXPECT_NE(page.find(preset_row), std::string::npos) << preset_row;
    const credential_rule& rule = preset.credentials;
    const std::string rule_row = name + std::string(rule.sheet_said) + " | " +
                                 std::string(rule.works_now) + " | " +
                                 (rule.oauth_only ? "yes" : "no") + " |";
    EXPECT_NE(page.find(rule_row), std::string::npos) << rule_row;
  }
}

TEST(config_presets, unknown_names_are_not_found) {
  EXPECT_EQ(find_provider("gmx"), nullptr);
  EXPECT_EQ(find_provider(""), nullptr);
  EXPECT_EQ(find_provider("Gmail"), nullptr);  // preset names are lower-case ids
}

// Every preset, named alone in a target, loads into the preset's default port and mode.
TEST(config_presets, every_preset_loads_as_a_target) {
  for (const provider_preset& preset : provider_presets()) {
    const std::string document =
        "[[target]]\nname = \"x\"\nprovider = \"" + std::string(preset.name) + "\"\n";
    const load_result result = load_string(document, "test.toml");
    ASSERT_TRUE(result.ok()) << preset.name;
    const target& t = result.config->targets.at(0);
    EXPECT_EQ(t.host, preset.host);
    EXPECT_EQ(t.port, preset.ports.front().port);
    EXPECT_EQ(t.tls, preset.ports.front().tls);
    for (const provider_port& port : preset.ports) {
      const load_result on_port =
          load_string(document + "port = " + std::to_string(port.port) + "\n", "test.toml");
      ASSERT_TRUE(on_port.ok());
      EXPECT_EQ(on_port.config->targets.at(0).tls, port.tls) << preset.name << ":" << port.port;
    }
  }
}

}  // namespace
}  // namespace smtp_exporter::config
