// [target.auth.oauth2] (and [module.NAME.auth.oauth2]): an OAuth 2.0 token source the exporter
// runs itself. Which flow takes which key is the oauth2_keys table (detail/loader.hpp); this file
// reads the values and resolves the endpoint from the provider preset. Nothing here opens a file
// or reads an environment variable: secrets are read where the config is applied, and
// --config.check opens only the service-account key (exporter/app/prepared_config.cpp). No value
// is quoted back but the flow and the tenant, which are not secret; a token_url may carry user
// info, so it is not quoted either.
#include <toml++/toml.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "common/https_url.hpp"
#include "config/config.hpp"
#include "config/detail/loader.hpp"
#include "config/presets.hpp"

namespace smtp_exporter::config::detail {
namespace {

using toml::node_type;

// Where each string key of oauth2_keys lands ("flow" is read on its own).
struct oauth2_field {
  std::string_view key;
  std::string oauth2_settings::*member;
};
constexpr oauth2_field oauth2_fields[] = {
    {"client_id", &oauth2_settings::client_id},
    {"client_secret_file", &oauth2_settings::client_secret_file},
    {"client_secret_env", &oauth2_settings::client_secret_env},
    {"refresh_token_file", &oauth2_settings::refresh_token_file},
    {"refresh_token_env", &oauth2_settings::refresh_token_env},
    {"service_account_key_file", &oauth2_settings::service_account_key_file},
    {"subject", &oauth2_settings::subject},
    {"tenant", &oauth2_settings::tenant},
    {"token_url", &oauth2_settings::token_url},
    {"scope", &oauth2_settings::scope},
    {"ca_file", &oauth2_settings::ca_file},
    {"refresh_token_state_file", &oauth2_settings::refresh_token_state_file},
};
static_assert(std::size(oauth2_fields) + 1 == std::size(oauth2_keys),
              "every key of oauth2_keys but flow has a field");

constexpr std::string_view flow_names[] = {"refresh_token", "client_credentials",
                                           "service_account"};

// The tenants that name a kind of account rather than a tenant: Microsoft issues app-only
// (client_credentials) tokens only from a tenant's own endpoint.
constexpr std::string_view tenant_aliases[] = {"common", "organizations", "consumers"};

bool is_tenant_char(char c) { return is_word_char(c) || c == '-' || c == '.'; }

// Why `value` is no good for `key`; nullopt when it is.
std::optional<std::string> value_problem(std::string_view key, std::string_view value) {
  if (value.empty()) return "must not be empty";
  if (key.ends_with("_env")) {
    if (!is_identifier(value))
      return "must be an environment variable name such as \"SMTP_OAUTH2_SECRET\"";
  } else if (key == "token_url") {
    if (!parse_https_url(value))
      return "must be an https:// URL with a host (no user info, fragment or spaces)";
  } else if (key == "tenant") {
    if (value.size() > 256 || !std::all_of(value.begin(), value.end(), is_tenant_char))
      return "must be a tenant id or domain (letters, digits, \"-\", \".\", \"_\")";
  } else if (key == "subject") {
    if (auto problem = address_problem(value)) return "the mailbox " + *problem;
  } else if (std::any_of(value.begin(), value.end(), is_control)) {
    return "must not contain control characters";
  }
  return std::nullopt;
}

const oauth2_key* find_key(std::string_view name) {
  const auto it = std::find_if(std::begin(oauth2_keys), std::end(oauth2_keys),
                               [name](const oauth2_key& k) { return k.name == name; });
  return it == std::end(oauth2_keys) ? nullptr : &*it;
}

std::uint8_t bit_of(oauth2_flow flow) {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(flow));
}

}  // namespace

std::optional<oauth2_settings> loader::parse_oauth2(const toml::table& table,
                                                    std::string_view base,
                                                    const provider_preset* preset,
                                                    const std::string& username,
                                                    oauth2_file_sources& files) {
  const std::size_t errors_before = errors_.size();
  const toml::source_position at = table.source().begin;
  for (const auto& [key, value] : table) {
    if (find_key(key.str()) == nullptr)
      error(key.source().begin, join(base, key.str()), "unknown key");
  }

  oauth2_settings out;
  const toml::node* flow_node = find(table, "flow", node_type::string, base);
  if (flow_node == nullptr) {
    if (!table.contains("flow"))
      error(at, join(base, "flow"), "flow is required (" + one_of(flow_names) + ")");
    return std::nullopt;
  }
  const std::string& flow_text = flow_node->as_string()->get();
  const std::optional<oauth2_flow> flow = parse_oauth2_flow(flow_text);
  if (!flow) {
    error(*flow_node, join(base, "flow"),
          "unknown flow " + quote_value(flow_text) + " (expected " + one_of(flow_names) + ")");
    return std::nullopt;
  }
  out.flow = *flow;
  const std::string flow_name(to_string(*flow));
  const std::uint8_t bit = bit_of(*flow);

  for (const oauth2_field& field : oauth2_fields) {
    const toml::node* present = table.get(field.key);
    if (present == nullptr) continue;
    const std::string path = join(base, field.key);
    const oauth2_key& rules = *find_key(field.key);
    if ((rules.taken_by & bit) == 0) {
      error(*present, path, "not used by flow " + flow_name);
      continue;
    }
    const toml::node* node = find(table, field.key, node_type::string, base);
    if (node == nullptr) continue;
    const std::string& value = node->as_string()->get();
    if (auto problem = value_problem(field.key, value)) {
      error(*node, path, *problem);
      continue;
    }
    out.*field.member = value;
    // The files the exporter opens when it applies the config point back here when they fail.
    if (field.key == "service_account_key_file")
      files.service_account_key_file = {position(node->source().begin), path};
    if (field.key == "ca_file") files.ca_file = {position(node->source().begin), path};
  }

  for (const oauth2_key& key : oauth2_keys) {
    const toml::node* node = table.get(key.name);
    if ((key.required_by & bit) != 0 && node == nullptr &&
        (key.other.empty() || !table.contains(key.other))) {
      error(at, join(base, key.name),
            (key.other.empty() ? std::string(key.name)
                               : std::string(key.name) + " or " + std::string(key.other)) +
                " is required for flow " + flow_name);
    }
    // A pair written twice: reported once, on the half written second.
    const toml::node* other = key.other.empty() ? nullptr : table.get(key.other);
    if (node != nullptr && other != nullptr && (key.taken_by & bit) != 0 &&
        before(other->source().begin, node->source().begin)) {
      error(*node, join(base, key.name),
            "conflicts with " + std::string(key.other) + "; set at most one of them");
    }
  }

  read_oauth2_endpoint(table, base, preset, out);

  // Two credentials rotating refresh tokens into one file would overwrite each other's; the
  // same credential used by several targets shares one cache entry, and so may share the file.
  if (const toml::node* node = table.get("refresh_token_state_file");
      node != nullptr && !out.refresh_token_state_file.empty() && errors_.size() == errors_before) {
    const std::string credential = out.token_url + '\n' + out.client_id + '\n' + out.scope +
                                   '\n' + out.refresh_token_file + '\n' + out.refresh_token_env;
    const std::string path = join(base, "refresh_token_state_file");
    const auto [owner, inserted] =
        state_file_owners_.try_emplace(out.refresh_token_state_file, state_file_owner{credential, path});
    if (!inserted && owner->second.credential != credential) {
      error(*node, path,
            "also written for another credential by " + owner->second.key +
                "; give each credential its own state file");
    }
  }

  if (out.flow == oauth2_flow::service_account && !table.contains("subject")) {
    // The JWT's `sub` is the mailbox the token acts for: by default the SASL user.
    if (address_problem(username)) {
      error(at, join(base, "subject"),
            "subject is required (the auth username is not an address)");
    } else {
      out.subject = username;
    }
  }
  if (errors_.size() != errors_before) return std::nullopt;
  return out;
}

// token_url and scope from the preset unless written; `tenant` only ever fills the preset's URL.
// An empty token_url is left only for a service account: its key file's token_uri.
void loader::read_oauth2_endpoint(const toml::table& table, std::string_view base,
                                  const provider_preset* preset, oauth2_settings& out) {
  const toml::source_position at = table.source().begin;
  const oauth2_preset* facts = preset != nullptr && preset->oauth2 ? &*preset->oauth2 : nullptr;
  const bool knows_flow = facts != nullptr && !facts->scope(out.flow).empty();
  const std::string flow_name(to_string(out.flow));
  const auto missing = [&](std::string_view key) {
    std::string why = std::string(key) + " is required: ";
    if (preset == nullptr) return why + "no provider preset gives one";
    why += "the " + std::string(preset->name) + " preset has ";
    return why + (facts == nullptr ? "no OAuth 2.0 endpoint" : "no " + flow_name + " grant");
  };

  const bool url_written = table.contains("token_url");
  const toml::node* tenant = (bit_of(out.flow) & client_flows) != 0 ? table.get("tenant") : nullptr;
  if (tenant != nullptr) {
    const std::string path = join(base, "tenant");
    if (facts == nullptr || !facts->has_tenant()) {
      error(*tenant, path,
            "tenant is used only by the Microsoft presets (outlook, hotmail, office365); write "
            "another endpoint's tenant into token_url");
    } else if (url_written) {
      error(*tenant, path, "tenant is not used when token_url is written; write it into the URL");
    }
  }

  if (!url_written) {
    if (!knows_flow) {
      // A service-account key names its own endpoint (token_uri), which is then used.
      if (out.flow != oauth2_flow::service_account)
        error(at, join(base, "token_url"), missing("token_url"));
    } else if (!facts->has_tenant()) {
      out.token_url = std::string(facts->token_url);
    } else if (out.flow == oauth2_flow::client_credentials && tenant == nullptr) {
      error(at, join(base, "tenant"),
            "tenant is required for flow client_credentials with the " +
                std::string(preset->name) +
                " preset: app-only tokens come from the tenant's own endpoint (its id or domain)");
    } else if (out.flow == oauth2_flow::client_credentials &&
               contains(tenant_aliases, out.tenant)) {
      error(*tenant, join(base, "tenant"),
            "flow client_credentials needs the tenant's id or domain, not " +
                quote_value(out.tenant) + ": app-only tokens come from the tenant's own endpoint");
    } else if (tenant != nullptr && out.tenant.empty()) {
      // The tenant itself was refused above; a URL built without it would only mislead.
    } else {
      if (out.tenant.empty()) out.tenant = std::string(facts->default_tenant);
      out.token_url = oauth2_token_url(*facts, out.tenant);
    }
  }
  if (!table.contains("scope")) {
    if (knows_flow) {
      out.scope = std::string(facts->scope(out.flow));
    } else {
      error(at, join(base, "scope"), missing("scope"));
    }
  }
}

}  // namespace smtp_exporter::config::detail
