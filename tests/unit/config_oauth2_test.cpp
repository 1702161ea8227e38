// [target.auth.oauth2] (issue 20): every rule of config/oauth2.cpp and the oauth2_keys table,
// table-driven like config_test.cpp, with the exact error text; the endpoint each preset
// resolves to; and canaries showing no message quotes an environment variable's value, a file's
// content or a secret written where it does not belong.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.hpp"
#include "tests/support/config_cases.hpp"

namespace smtp_exporter::config {
namespace {

using smtp_test::joined;
using smtp_test::lines;
load_result load(const std::string& text) { return smtp_test::load_test_toml(text); }

// A target of `provider` with an auth table (lines 4-5, then `auth_extra`) and an oauth2 table
// after it. With no auth_extra, [target.auth.oauth2] is line 6 and its keys start on line 7.
std::string with_oauth2(std::string_view provider, std::initializer_list<std::string_view> oauth2,
                        std::initializer_list<std::string_view> auth_extra = {}) {
  std::string out = lines({"[[target]]", "name = \"a\""});
  out += "provider = \"" + std::string(provider) + "\"\n";
  out += lines({"[target.auth]", "username = \"me@example.com\""});
  for (const std::string_view line : auth_extra) (out += line) += '\n';
  out += "[target.auth.oauth2]\n";
  for (const std::string_view line : oauth2) (out += line) += '\n';
  return out;
}

// The same target without a provider: host and port on lines 3 and 4, the oauth2 table on 7.
std::string custom_endpoint(std::initializer_list<std::string_view> oauth2) {
  std::string out = lines({"[[target]]", "name = \"a\"", "host = \"smtp.example.com\"",
                           "port = 587", "[target.auth]", "username = \"me@example.com\"",
                           "[target.auth.oauth2]"});
  for (const std::string_view line : oauth2) (out += line) += '\n';
  return out;
}

using good_case = smtp_test::config_good_case;

const oauth2_settings& oauth2_of(const exporter_config& c, std::size_t i = 0) {
  return *c.targets.at(i).auth->oauth2;
}

std::vector<good_case> good_cases() {
  return {
      {"gmail_refresh_token_from_the_preset",
       with_oauth2("gmail", {"flow = \"refresh_token\"", "client_id = \"id.apps\"",
                             "client_secret_file = \"/run/secrets/cs\"",
                             "refresh_token_file = \"/run/secrets/rt\""}),
       [](const exporter_config& c) {
         const oauth2_settings& o = oauth2_of(c);
         EXPECT_EQ(o.flow, oauth2_flow::refresh_token);
         EXPECT_EQ(o.client_id, "id.apps");
         EXPECT_EQ(o.client_secret_file, "/run/secrets/cs");
         EXPECT_EQ(o.refresh_token_file, "/run/secrets/rt");
         EXPECT_EQ(o.token_url, "https://oauth2.googleapis.com/token");
         EXPECT_EQ(o.scope, "https://mail.google.com/");
         EXPECT_EQ(o.tenant, "");
         EXPECT_EQ(o.subject, "");
         EXPECT_EQ(c.targets[0].auth->mechanism, auth_mechanism::automatic);
         EXPECT_EQ(c.targets[0].auth->password_file, "");
         ASSERT_EQ(c.oauth2_files.size(), 1u);
         EXPECT_EQ(c.oauth2_files[0].ca_file.position, "");
         EXPECT_TRUE(c.warnings.empty());
       }},
      {"public_client_from_env_with_a_state_file",
       with_oauth2("gmail", {"flow = \"refresh_token\"", "client_id = \"id\"",
                             "refresh_token_env = \"GMAIL_RT\"",
                             "refresh_token_state_file = \"/var/lib/smtp/rt\""}),
       [](const exporter_config& c) {
         const oauth2_settings& o = oauth2_of(c);
         EXPECT_EQ(o.client_secret_file, "");
         EXPECT_EQ(o.client_secret_env, "");
         EXPECT_EQ(o.refresh_token_env, "GMAIL_RT");
         EXPECT_EQ(o.refresh_token_state_file, "/var/lib/smtp/rt");
       }},
      {"outlook_refresh_token_defaults_to_the_common_tenant",
       with_oauth2("outlook", {"flow = \"refresh_token\"", "client_id = \"id\"",
                               "refresh_token_file = \"/rt\""}),
       [](const exporter_config& c) {
         const oauth2_settings& o = oauth2_of(c);
         EXPECT_EQ(o.tenant, "common");
         EXPECT_EQ(o.token_url, "https://login.microsoftonline.com/common/oauth2/v2.0/token");
         EXPECT_EQ(o.scope, "https://outlook.office.com/SMTP.Send offline_access");
       }},
      {"hotmail_with_the_consumers_tenant",
       with_oauth2("hotmail", {"flow = \"refresh_token\"", "client_id = \"id\"",
                               "refresh_token_file = \"/rt\"", "tenant = \"consumers\""}),
       [](const exporter_config& c) {
         EXPECT_EQ(oauth2_of(c).token_url,
                   "https://login.microsoftonline.com/consumers/oauth2/v2.0/token");
         EXPECT_EQ(c.targets[0].host, "smtp-mail.outlook.com");
       }},
      {"office365_client_credentials_with_a_tenant",
       with_oauth2("office365",
                   {"flow = \"client_credentials\"", "tenant = \"contoso.onmicrosoft.com\"",
                    "client_id = \"00000000-0000-0000-0000-000000000000\"",
                    "client_secret_env = \"M365_SECRET\""},
                   {"mechanism = \"XOAUTH2\""}),
       [](const exporter_config& c) {
         const oauth2_settings& o = oauth2_of(c);
         EXPECT_EQ(o.flow, oauth2_flow::client_credentials);
         EXPECT_EQ(o.token_url,
                   "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
         EXPECT_EQ(o.scope, "https://outlook.office365.com/.default");
         EXPECT_EQ(o.client_secret_env, "M365_SECRET");
         EXPECT_EQ(c.targets[0].auth->mechanism, auth_mechanism::xoauth2);
         EXPECT_EQ(c.targets[0].host, "smtp.office365.com");
         EXPECT_EQ(c.targets[0].port, 587);
         EXPECT_EQ(c.targets[0].tls, tls_mode::starttls);
       }},
      {"workspace_service_account_acts_for_the_username",
       with_oauth2("gmail",
                   {"flow = \"service_account\"",
                    "service_account_key_file = \"/run/secrets/sa.json\"",
                    "ca_file = \"/etc/ssl/google.pem\""},
                   {"mechanism = \"OAUTHBEARER\""}),
       [](const exporter_config& c) {
         const oauth2_settings& o = oauth2_of(c);
         EXPECT_EQ(o.flow, oauth2_flow::service_account);
         EXPECT_EQ(o.subject, "me@example.com");
         EXPECT_EQ(o.service_account_key_file, "/run/secrets/sa.json");
         EXPECT_EQ(o.token_url, "https://oauth2.googleapis.com/token");
         EXPECT_EQ(o.scope, "https://mail.google.com/");
         EXPECT_EQ(c.targets[0].auth->mechanism, auth_mechanism::oauthbearer);
         ASSERT_EQ(c.oauth2_files.size(), 1u);
         // Where --config.check reports a key file that does not load.
         EXPECT_EQ(c.oauth2_files[0].service_account_key_file.error("x"),
                   "test.toml:9:28: target[0].auth.oauth2.service_account_key_file: x");
         EXPECT_EQ(c.oauth2_files[0].ca_file.error("x"),
                   "test.toml:10:11: target[0].auth.oauth2.ca_file: x");
       }},
      {"service_account_subject_written",
       with_oauth2("gmail", {"flow = \"service_account\"", "service_account_key_file = \"/k\"",
                             "subject = \"other@example.com\""}),
       [](const exporter_config& c) { EXPECT_EQ(oauth2_of(c).subject, "other@example.com"); }},
      {"custom_endpoint_written_in_full",
       custom_endpoint({"flow = \"client_credentials\"", "client_id = \"id\"",
                        "client_secret_file = \"/s\"",
                        "token_url = \"https://127.0.0.1:8443/oauth2/token?x=1\"",
                        "scope = \"smtp\""}),
       [](const exporter_config& c) {
         EXPECT_EQ(oauth2_of(c).token_url, "https://127.0.0.1:8443/oauth2/token?x=1");
         EXPECT_EQ(oauth2_of(c).scope, "smtp");
       }},
      {"service_account_without_a_preset_uses_the_key_files_token_uri",
       custom_endpoint({"flow = \"service_account\"", "service_account_key_file = \"/k\"",
                        "scope = \"https://mail.google.com/\""}),
       [](const exporter_config& c) {
         EXPECT_EQ(oauth2_of(c).token_url, "");
         EXPECT_EQ(oauth2_of(c).scope, "https://mail.google.com/");
       }},
      {"written_scope_overrides_the_preset",
       with_oauth2("gmail", {"flow = \"refresh_token\"", "client_id = \"id\"",
                             "refresh_token_file = \"/rt\"", "scope = \"https://x/ y\""}),
       [](const exporter_config& c) {
         EXPECT_EQ(oauth2_of(c).scope, "https://x/ y");
         EXPECT_EQ(oauth2_of(c).token_url, "https://oauth2.googleapis.com/token");
       }},
      {"written_token_url_overrides_the_preset_and_needs_no_tenant",
       with_oauth2("office365",
                   {"flow = \"client_credentials\"", "client_id = \"id\"",
                    "client_secret_file = \"/s\"", "token_url = \"https://[::1]:9443/t\""}),
       [](const exporter_config& c) {
         EXPECT_EQ(oauth2_of(c).token_url, "https://[::1]:9443/t");
         EXPECT_EQ(oauth2_of(c).scope, "https://outlook.office365.com/.default");
         EXPECT_EQ(oauth2_of(c).tenant, "");
       }},
      {"inline_oauth2_table",
       lines({"[[target]]", "name = \"a\"", "provider = \"gmail\"",
              "auth = { username = \"u@example.com\", oauth2 = { flow = \"service_account\", "
              "service_account_key_file = \"/k\" } }"}),
       [](const exporter_config& c) { EXPECT_EQ(oauth2_of(c).subject, "u@example.com"); }},
      {"a_bearer_token_file_takes_oauthbearer_too",
       lines({"[[target]]", "name = \"a\"", "provider = \"gmail\"",
              "auth = { username = \"u\", token_file = \"/t\", mechanism = \"OAUTHBEARER\" }"}),
       [](const exporter_config& c) {
         EXPECT_EQ(c.targets[0].auth->mechanism, auth_mechanism::oauthbearer);
       }},
      {"one_oauth2_files_entry_per_target",
       lines({"[[target]]", "name = \"plain\"", "provider = \"gmail\"", "[[target]]",
              "name = \"sa\"", "provider = \"gmail\"", "[target.auth]", "username = \"u@x.org\"",
              "[target.auth.oauth2]", "flow = \"service_account\"",
              "service_account_key_file = \"/k\""}),
       [](const exporter_config& c) {
         ASSERT_EQ(c.oauth2_files.size(), 2u);
         EXPECT_EQ(c.oauth2_files[0].service_account_key_file.position, "");
         EXPECT_EQ(c.oauth2_files[1].service_account_key_file.position, "test.toml:11:28");
       }},
      {"one_credential_shares_its_state_file",
       lines({"[[target]]", "name = \"a\"", "provider = \"outlook\"",
              "auth = { username = \"u\", oauth2 = { flow = \"refresh_token\", client_id = \"id\", "
              "refresh_token_file = \"/rt\", refresh_token_state_file = \"/st\" } }",
              "[[target]]", "name = \"b\"", "provider = \"hotmail\"",
              "auth = { username = \"u\", oauth2 = { flow = \"refresh_token\", client_id = \"id\", "
              "refresh_token_file = \"/rt\", refresh_token_state_file = \"/st\" } }"}),
       [](const exporter_config& c) { EXPECT_EQ(c.targets.size(), 2u); }},
      {"a_module_takes_oauth2",
       lines({"[module.m365]", "provider = \"office365\"", "probes = [\"auth\"]",
              "allowed_hosts = [\"smtp.office365.com\"]", "allowed_ports = [587]",
              "[module.m365.auth]", "username = \"u@example.com\"", "[module.m365.auth.oauth2]",
              "flow = \"client_credentials\"", "tenant = \"contoso.com\"", "client_id = \"id\"",
              "client_secret_file = \"/s\"", "ca_file = \"/ca.pem\""}),
       [](const exporter_config& c) {
         ASSERT_EQ(c.modules.size(), 1u);
         const probe_module& m = c.modules[0];
         EXPECT_EQ(m.settings.auth->oauth2->token_url,
                   "https://login.microsoftonline.com/contoso.com/oauth2/v2.0/token");
         EXPECT_EQ(m.oauth2_files.ca_file.error("x"),
                   "test.toml:13:11: module.m365.auth.oauth2.ca_file: x");
         EXPECT_EQ(module_target(m, "smtp.office365.com", 587).auth->oauth2,
                   m.settings.auth->oauth2);
       }},
      // Outlook.com and Hotmail refuse passwords: --config.check says so, at the password key.
      {"outlook_with_a_password_warns_that_it_takes_oauth_only",
       lines({"[[target]]", "name = \"a\"", "provider = \"outlook\"",
              "auth = { username = \"u\", password_env = \"P\" }"}),
       [](const exporter_config& c) {
         EXPECT_EQ(c.warnings, (std::vector<std::string>{
                                   "test.toml:4:41: target[0].auth.password_env: Outlook.com takes "
                                   "OAuth 2.0 only since September 2024: see [target.auth.oauth2]"}));
       }},
      {"hotmail_with_a_password_file_warns",
       lines({"[[target]]", "name = \"a\"", "provider = \"hotmail\"", "[target.auth]",
              "username = \"u\"", "password_file = \"/p\""}),
       [](const exporter_config& c) {
         EXPECT_EQ(c.warnings, (std::vector<std::string>{
                                   "test.toml:6:17: target[0].auth.password_file: Hotmail takes "
                                   "OAuth 2.0 only since September 2024: see [target.auth.oauth2]"}));
       }},
      {"office365_with_a_password_warns_of_december_2026",
       lines({"[[target]]", "name = \"a\"", "provider = \"office365\"",
              "auth = { username = \"u\", password_env = \"P\" }"}),
       [](const exporter_config& c) {
         EXPECT_EQ(c.warnings,
                   (std::vector<std::string>{
                       "test.toml:4:41: target[0].auth.password_env: Microsoft 365 turns SMTP AUTH "
                       "with passwords (Basic authentication) off by default at the end of "
                       "December 2026 (MC786329): see [target.auth.oauth2]"}));
       }},
      {"outlook_with_a_token_file_draws_no_warning",
       lines({"[[target]]", "name = \"a\"", "provider = \"outlook\"",
              "auth = { username = \"u\", token_file = \"/t\" }"}),
       [](const exporter_config& c) { EXPECT_TRUE(c.warnings.empty()); }},
      {"gmail_with_a_password_draws_no_warning",
       lines({"[[target]]", "name = \"a\"", "provider = \"gmail\"",
              "auth = { username = \"u\", password_env = \"P\" }"}),
       [](const exporter_config& c) { EXPECT_TRUE(c.warnings.empty()); }},
  };
}

class good_oauth2 : public testing::TestWithParam<good_case> {};

TEST_P(good_oauth2, loads_and_resolves) {
  const load_result result = load(GetParam().toml);
  ASSERT_TRUE(result.ok()) << joined(result.errors);
  GetParam().check(*result.config);
}

INSTANTIATE_TEST_SUITE_P(config_oauth2, good_oauth2, testing::ValuesIn(good_cases()),
                         [](const auto& info) { return info.param.name; });

using bad_case = smtp_test::config_bad_case;

constexpr std::string_view cc_keys = "client_id = \"id\"";

std::vector<bad_case> bad_cases() {
  return {
      {"flow_missing",
       with_oauth2("gmail", {"client_id = \"id\""}),
       {"test.toml:6:1: target[0].auth.oauth2.flow: flow is required (refresh_token, "
        "client_credentials or service_account)"}},
      {"flow_unknown",
       with_oauth2("gmail", {"flow = \"password\""}),
       {"test.toml:7:8: target[0].auth.oauth2.flow: unknown flow \"password\" (expected "
        "refresh_token, client_credentials or service_account)"}},
      {"flow_not_a_string",
       with_oauth2("gmail", {"flow = 1"}),
       {"test.toml:7:8: target[0].auth.oauth2.flow: expected string, got integer"}},
      {"unknown_key",
       with_oauth2("gmail", {"flow = \"refresh_token\"", "client_id = \"id\"",
                             "refresh_token_file = \"/rt\"", "redirect_uri = \"x\""}),
       {"test.toml:10:1: target[0].auth.oauth2.redirect_uri: unknown key"}},
      {"refresh_token_without_client_id",
       with_oauth2("gmail", {"flow = \"refresh_token\"", "refresh_token_file = \"/rt\""}),
       {"test.toml:6:1: target[0].auth.oauth2.client_id: client_id is required for flow "
        "refresh_token"}},
      {"refresh_token_without_a_refresh_token",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys}),
       {"test.toml:6:1: target[0].auth.oauth2.refresh_token_file: refresh_token_file or "
        "refresh_token_env is required for flow refresh_token"}},
      {"refresh_token_from_file_and_env",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"RT\"",
                             "refresh_token_file = \"/rt\""}),
       {"test.toml:10:22: target[0].auth.oauth2.refresh_token_file: conflicts with "
        "refresh_token_env; set at most one of them"}},
      {"client_secret_from_file_and_env",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"RT\"",
                             "client_secret_file = \"/s\"", "client_secret_env = \"S\""}),
       {"test.toml:11:21: target[0].auth.oauth2.client_secret_env: conflicts with "
        "client_secret_file; set at most one of them"}},
      {"client_credentials_without_a_secret",
       with_oauth2("office365", {"flow = \"client_credentials\"", cc_keys, "tenant = \"c.com\""}),
       {"test.toml:6:1: target[0].auth.oauth2.client_secret_file: client_secret_file or "
        "client_secret_env is required for flow client_credentials"}},
      {"client_credentials_refuses_a_refresh_token",
       with_oauth2("office365", {"flow = \"client_credentials\"", cc_keys, "tenant = \"c.com\"",
                                 "client_secret_env = \"S\"", "refresh_token_file = \"/rt\"",
                                 "refresh_token_state_file = \"/st\""}),
       {"test.toml:11:22: target[0].auth.oauth2.refresh_token_file: not used by flow "
        "client_credentials",
        "test.toml:12:28: target[0].auth.oauth2.refresh_token_state_file: not used by flow "
        "client_credentials"}},
      {"client_credentials_on_microsoft_needs_a_tenant",
       with_oauth2("office365", {"flow = \"client_credentials\"", cc_keys,
                                 "client_secret_env = \"S\""}),
       {"test.toml:6:1: target[0].auth.oauth2.tenant: tenant is required for flow "
        "client_credentials with the office365 preset: app-only tokens come from the tenant's "
        "own endpoint (its id or domain)"}},
      {"client_credentials_refuses_the_common_tenant",
       with_oauth2("outlook", {"flow = \"client_credentials\"", cc_keys,
                               "client_secret_env = \"S\"", "tenant = \"organizations\""}),
       {"test.toml:10:10: target[0].auth.oauth2.tenant: flow client_credentials needs the "
        "tenant's id or domain, not \"organizations\": app-only tokens come from the tenant's own "
        "endpoint"}},
      {"service_account_without_a_key_file",
       with_oauth2("gmail", {"flow = \"service_account\""}),
       {"test.toml:6:1: target[0].auth.oauth2.service_account_key_file: service_account_key_file "
        "is required for flow service_account"}},
      {"service_account_refuses_client_keys",
       with_oauth2("gmail", {"flow = \"service_account\"", "service_account_key_file = \"/k\"",
                             "client_id = \"id\"", "client_secret_env = \"S\"",
                             "refresh_token_env = \"R\"", "tenant = \"t\""}),
       {"test.toml:9:13: target[0].auth.oauth2.client_id: not used by flow service_account",
        "test.toml:10:21: target[0].auth.oauth2.client_secret_env: not used by flow "
        "service_account",
        "test.toml:11:21: target[0].auth.oauth2.refresh_token_env: not used by flow "
        "service_account",
        "test.toml:12:10: target[0].auth.oauth2.tenant: not used by flow service_account"}},
      {"subject_and_refresh_flows",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                             "subject = \"a@b.c\""}),
       {"test.toml:10:11: target[0].auth.oauth2.subject: not used by flow refresh_token"}},
      {"service_account_subject_needs_an_address",
       lines({"[[target]]", "name = \"a\"", "provider = \"gmail\"", "[target.auth]",
              "username = \"monitor\"", "[target.auth.oauth2]", "flow = \"service_account\"",
              "service_account_key_file = \"/k\""}),
       {"test.toml:6:1: target[0].auth.oauth2.subject: subject is required (the auth username is "
        "not an address)"}},
      {"service_account_subject_written_badly",
       with_oauth2("gmail", {"flow = \"service_account\"", "service_account_key_file = \"/k\"",
                             "subject = \"nobody\""}),
       {"test.toml:9:11: target[0].auth.oauth2.subject: the mailbox must be an address of the "
        "form local@domain"}},
      {"token_url_over_http",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                             "token_url = \"http://oauth2.googleapis.com/token\""}),
       {"test.toml:10:13: target[0].auth.oauth2.token_url: must be an https:// URL with a host "
        "(no user info, fragment or spaces)"}},
      {"token_url_with_user_info_is_not_quoted",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                             "token_url = \"https://id:hunter2@oauth2.googleapis.com/token\""}),
       {"test.toml:10:13: target[0].auth.oauth2.token_url: must be an https:// URL with a host "
        "(no user info, fragment or spaces)"}},
      {"token_url_with_a_fragment",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                             "token_url = \"https://h/token#x\""}),
       {"test.toml:10:13: target[0].auth.oauth2.token_url: must be an https:// URL with a host "
        "(no user info, fragment or spaces)"}},
      {"token_url_without_a_host",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                             "token_url = \"https:///token\""}),
       {"test.toml:10:13: target[0].auth.oauth2.token_url: must be an https:// URL with a host "
        "(no user info, fragment or spaces)"}},
      {"no_preset_needs_token_url_and_scope",
       custom_endpoint({"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\""}),
       {"test.toml:7:1: target[0].auth.oauth2.token_url: token_url is required: no provider "
        "preset gives one",
        "test.toml:7:1: target[0].auth.oauth2.scope: scope is required: no provider preset gives "
        "one"}},
      {"a_preset_without_oauth2",
       with_oauth2("yahoo", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                             "scope = \"mail-w\""}),
       {"test.toml:6:1: target[0].auth.oauth2.token_url: token_url is required: the yahoo preset "
        "has no OAuth 2.0 endpoint"}},
      {"gmail_has_no_client_credentials_grant",
       with_oauth2("gmail", {"flow = \"client_credentials\"", cc_keys,
                             "client_secret_env = \"S\""}),
       {"test.toml:6:1: target[0].auth.oauth2.token_url: token_url is required: the gmail preset "
        "has no client_credentials grant",
        "test.toml:6:1: target[0].auth.oauth2.scope: scope is required: the gmail preset has no "
        "client_credentials grant"}},
      {"microsoft_has_no_service_account_grant",
       with_oauth2("office365", {"flow = \"service_account\"",
                                 "service_account_key_file = \"/k\""}),
       {"test.toml:6:1: target[0].auth.oauth2.scope: scope is required: the office365 preset has "
        "no service_account grant"}},
      {"tenant_outside_the_microsoft_presets",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                             "tenant = \"common\""}),
       {"test.toml:10:10: target[0].auth.oauth2.tenant: tenant is used only by the Microsoft "
        "presets (outlook, hotmail, office365); write another endpoint's tenant into token_url"}},
      {"tenant_beside_a_written_token_url",
       with_oauth2("outlook", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                               "token_url = \"https://login.example/t\"", "tenant = \"common\""}),
       {"test.toml:11:10: target[0].auth.oauth2.tenant: tenant is not used when token_url is "
        "written; write it into the URL"}},
      {"tenant_that_would_break_the_url",
       with_oauth2("outlook", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                               "tenant = \"common/../x\""}),
       {"test.toml:10:10: target[0].auth.oauth2.tenant: must be a tenant id or domain (letters, "
        "digits, \"-\", \".\", \"_\")"}},
      {"env_names_must_be_names",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"$RT\""}),
       {"test.toml:9:21: target[0].auth.oauth2.refresh_token_env: must be an environment variable "
        "name such as \"SMTP_OAUTH2_SECRET\""}},
      {"empty_values",
       with_oauth2("gmail", {"flow = \"refresh_token\"", "client_id = \"\"",
                             "refresh_token_file = \"\""}),
       {"test.toml:8:13: target[0].auth.oauth2.client_id: must not be empty",
        "test.toml:9:22: target[0].auth.oauth2.refresh_token_file: must not be empty"}},
      {"scope_with_a_control_character",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\"",
                             "scope = \"a\\nb\""}),
       {"test.toml:10:9: target[0].auth.oauth2.scope: must not contain control characters"}},
      {"two_credentials_in_one_state_file",
       lines({"[[target]]", "name = \"a\"", "provider = \"outlook\"",
              "auth = { username = \"u\", oauth2 = { flow = \"refresh_token\", client_id = \"id\", "
              "refresh_token_file = \"/rt\", refresh_token_state_file = \"/st\" } }",
              "[[target]]", "name = \"b\"", "provider = \"outlook\"",
              "auth = { username = \"u\", oauth2 = { flow = \"refresh_token\", client_id = \"id\", "
              "refresh_token_file = \"/other\", refresh_token_state_file = \"/st\" } }"}),
       {"test.toml:8:137: target[1].auth.oauth2.refresh_token_state_file: also written for another "
        "credential by target[0].auth.oauth2.refresh_token_state_file; give each credential its "
        "own state file"}},
      {"oauth2_not_a_table",
       lines({"[[target]]", "name = \"a\"", "provider = \"gmail\"",
              "auth = { username = \"u\", oauth2 = \"yes\" }"}),
       {"test.toml:4:35: target[0].auth.oauth2: expected table, got string"}},

      // The oauth2 block is a credential source: one per auth table, and only with a mechanism
      // that carries a token.
      {"oauth2_beside_a_password",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\""},
                   {"password_env = \"P\""}),
       {"test.toml:7:1: target[0].auth.oauth2: conflicts with password_env; set exactly one of "
        "password_file, password_env, password, token_file or oauth2"}},
      {"oauth2_beside_a_token_file",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\""},
                   {"token_file = \"/t\""}),
       {"test.toml:7:1: target[0].auth.oauth2: conflicts with token_file; set exactly one of "
        "password_file, password_env, password, token_file or oauth2"}},
      {"oauth2_with_plain",
       with_oauth2("gmail", {"flow = \"refresh_token\"", cc_keys, "refresh_token_env = \"R\""},
                   {"mechanism = \"PLAIN\""}),
       {"test.toml:6:13: target[0].auth.mechanism: oauth2 works only with mechanism XOAUTH2, "
        "OAUTHBEARER or auto"}},
      {"oauthbearer_with_a_password",
       lines({"[[target]]", "name = \"a\"", "provider = \"gmail\"",
              "auth = { username = \"u\", password_env = \"P\", mechanism = \"oauthbearer\" }"}),
       {"test.toml:4:58: target[0].auth.mechanism: OAUTHBEARER takes token_file or oauth2, not a "
        "password"}},
      {"oauthbearer_without_a_token_source",
       lines({"[[target]]", "name = \"a\"", "provider = \"gmail\"",
              "auth = { username = \"u\", mechanism = \"OAUTHBEARER\" }"}),
       {"test.toml:4:8: target[0].auth: token_file or oauth2 is required for mechanism "
        "OAUTHBEARER"}},
      {"oauth2_still_needs_the_username",
       lines({"[[target]]", "name = \"a\"", "provider = \"gmail\"", "[target.auth]",
              "[target.auth.oauth2]", "flow = \"refresh_token\"", "client_id = \"id\"",
              "refresh_token_env = \"R\""}),
       {"test.toml:4:1: target[0].auth.username: username is required"}},
      {"a_module_reports_its_own_path",
       lines({"[module.m]", "provider = \"gmail\"", "allowed_hosts = [\"smtp.gmail.com\"]",
              "allowed_ports = [587]", "[module.m.auth]", "username = \"u\"",
              "[module.m.auth.oauth2]", "flow = \"refresh_token\""}),
       {"test.toml:7:1: module.m.auth.oauth2.client_id: client_id is required for flow "
        "refresh_token",
        "test.toml:7:1: module.m.auth.oauth2.refresh_token_file: refresh_token_file or "
        "refresh_token_env is required for flow refresh_token"}},
  };
}

class bad_oauth2 : public testing::TestWithParam<bad_case> {};

TEST_P(bad_oauth2, reports_exact_errors) {
  const load_result result = load(GetParam().toml);
  EXPECT_FALSE(result.ok());
  EXPECT_EQ(result.errors, GetParam().errors) << GetParam().toml;
}

INSTANTIATE_TEST_SUITE_P(config_oauth2, bad_oauth2, testing::ValuesIn(bad_cases()),
                         [](const auto& info) { return info.param.name; });

// ---------------------------------------------------------------------------------------------
// Canaries: config/ never reads a secret, so no message can hold an environment variable's
// value or a file's content; and a secret written inline where no key takes it is not echoed.

constexpr std::string_view canary = "CANARY-7f3a9c";

TEST(config_oauth2_secrets, no_message_quotes_an_env_value_or_a_file) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("oauth2_canary_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  for (const char* name : {"secret", "refresh", "key.json"})
    std::ofstream(dir / name) << canary << "\n";
  ::setenv("OAUTH2_CANARY_SECRET", std::string(canary).c_str(), 1);
  ::setenv("OAUTH2_CANARY_RT", std::string(canary).c_str(), 1);
  const std::string secret_file = (dir / "secret").string();
  const std::string refresh_file = (dir / "refresh").string();
  const std::string key_file = (dir / "key.json").string();

  const std::vector<std::string> documents = {
      // Valid sources with mistakes around them: errors and warnings name keys only.
      with_oauth2("outlook",
                  {"flow = \"client_credentials\"", "client_id = \"id\"",
                   "client_secret_env = \"OAUTH2_CANARY_SECRET\"",
                   "client_secret_file = \"" + secret_file + "\"",
                   "refresh_token_env = \"OAUTH2_CANARY_RT\""},
                  {"password_file = \"" + secret_file + "\""}),
      with_oauth2("gmail", {"flow = \"service_account\"",
                            "service_account_key_file = \"" + key_file + "\"",
                            "refresh_token_file = \"" + refresh_file + "\"", "tenant = \"x\""}),
      // Secrets written where no key takes them.
      with_oauth2("gmail", {"flow = \"refresh_token\"", "client_id = \"id\"",
                            "client_secret = \"CANARY-7f3a9c\"",
                            "refresh_token = \"CANARY-7f3a9c\""}),
      with_oauth2("gmail", {"flow = \"refresh_token\"", "client_id = \"id\"",
                            "refresh_token_file = \"/rt\"",
                            "token_url = \"https://u:CANARY-7f3a9c@h/t\""}),
  };
  for (const std::string& document : documents) {
    const load_result result = load(document);
    const std::vector<std::string> texts =
        result.ok() ? result.config->warnings : result.errors;
    EXPECT_FALSE(texts.empty()) << document;
    for (const std::string& text : texts) EXPECT_EQ(text.find(canary), std::string::npos) << text;
  }

  // toml++ quotes a number it cannot hold: on a line naming a secret or a token it is left out.
  for (const std::string key : {"client_secret", "refresh_token", "access_token"}) {
    const load_result result =
        load(with_oauth2("gmail", {"flow = \"refresh_token\"", key + " = 31415926535897932384626"}));
    ASSERT_FALSE(result.ok());
    for (const std::string& text : result.errors)
      EXPECT_EQ(text.find("31415926535897932384626"), std::string::npos) << text;
  }

  ::unsetenv("OAUTH2_CANARY_SECRET");
  ::unsetenv("OAUTH2_CANARY_RT");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace smtp_exporter::config
