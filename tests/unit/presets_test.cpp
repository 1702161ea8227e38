// The provider presets must match the seed's table (shared/seeds/smtp-sheets.md) exactly:
// a wrong host or port here would make every user of the preset probe the wrong server.
#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "config/presets.hpp"

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
      {"hotmail", "smtp.live.com", {{587, tls_mode::starttls}}, false},
      {"yahoo",
       "smtp.mail.yahoo.com",
       {{465, tls_mode::implicit}, {587, tls_mode::starttls}},
       false},
      {"icloud", "smtp.mail.me.com", {{587, tls_mode::starttls}}, false},
      {"zoho", "smtp.zoho.com", {{465, tls_mode::implicit}}, false},
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
