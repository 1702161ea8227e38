#include "probes/oauth/token_response.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <limits>

#include "common/text_escape.hpp"
#include "probes/oauth/json_wipe.hpp"

namespace smtp_exporter::probes::oauth {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, token_error_count> error_names{
    "none",        "invalid_grant", "invalid_client",     "unauthorized_client",
    "invalid_scope", "unreachable", "timeout",            "http_error",
    "malformed_response", "redirect", "body_too_large",   "not_https",
};

// Enough for Microsoft's descriptions up to the trace id; the rest is timestamps and ids.
constexpr std::size_t max_description_bytes = 200;
constexpr std::size_t max_code_bytes = 64;

bool is_code_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
}
bool is_plain_code(std::string_view code) {
  return !code.empty() && code.size() <= max_code_bytes && std::all_of(code.begin(), code.end(), is_code_char);
}

const json::string* string_member(const json::object& object, std::string_view key) {
  const auto* value = object.if_contains(key);
  return value != nullptr ? value->if_string() : nullptr;
}

// expires_in as a number (RFC 6749) or as digits in a string (older Microsoft endpoints).
std::chrono::seconds expires_in_of(const json::object& object) {
  const auto* value = object.if_contains("expires_in");
  if (value == nullptr) return std::chrono::seconds{0};
  constexpr std::int64_t ten_years = 10LL * 366 * 24 * 3600;  // beyond this, not a lifetime
  std::int64_t seconds = 0;
  if (const auto* i = value->if_int64()) {
    seconds = *i;
  } else if (const auto* u = value->if_uint64()) {
    seconds = *u > static_cast<std::uint64_t>(ten_years) ? 0 : static_cast<std::int64_t>(*u);
  } else if (const auto* d = value->if_double()) {
    seconds = *d >= 1 && *d <= static_cast<double>(ten_years) ? static_cast<std::int64_t>(*d) : 0;
  } else if (const auto* s = value->if_string()) {
    if (s->empty() || s->size() > 10 ||
        !std::all_of(s->begin(), s->end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::chrono::seconds{0};
    }
    seconds = std::stoll(std::string(*s));
  }
  if (seconds <= 0 || seconds > ten_years) return std::chrono::seconds{0};
  return std::chrono::seconds{seconds};
}

token_error class_of(std::string_view oauth_error) {
  if (oauth_error == "invalid_grant") return token_error::invalid_grant;
  if (oauth_error == "invalid_client") return token_error::invalid_client;
  if (oauth_error == "unauthorized_client") return token_error::unauthorized_client;
  if (oauth_error == "invalid_scope") return token_error::invalid_scope;
  return token_error::http_error;
}

std::optional<json::object> parse_object(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

}  // namespace

std::string_view token_error_name(token_error error) {
  const auto index = static_cast<std::size_t>(error);
  return index < error_names.size() ? error_names[index] : "unknown";
}

std::string provider_code(std::string_view oauth_error, std::string_view description,
                          const std::string* first_error_code) {
  if (first_error_code != nullptr && !first_error_code->empty() &&
      std::all_of(first_error_code->begin(), first_error_code->end(),
                  [](char c) { return c >= '0' && c <= '9'; }) &&
      first_error_code->size() <= 10) {
    return "AADSTS" + *first_error_code;
  }
  if (const auto at = description.find("AADSTS"); at != std::string_view::npos) {
    std::size_t end = at + 6;
    while (end < description.size() && end - at < 16 && description[end] >= '0' &&
           description[end] <= '9') {
      ++end;
    }
    if (end > at + 6) return std::string(description.substr(at, end - at));
  }
  return is_plain_code(oauth_error) ? std::string(oauth_error) : std::string{};
}

token_response parse_token_response(int http_status, std::string_view body,
                                    std::initializer_list<std::string_view> sent_secrets) {
  token_response out;
  out.http_status = http_status;
  if (http_status >= 300 && http_status < 400) {
    out.error = token_error::redirect;
    return out;
  }
  auto object = parse_object(body);
  if (http_status >= 200 && http_status < 300) {
    if (!object) {
      out.error = token_error::malformed_response;
      out.description = "the answer is not a JSON object";
      return out;
    }
    const auto* access = string_member(*object, "access_token");
    out.expires_in = expires_in_of(*object);
    if (access == nullptr || access->empty()) {
      out.error = token_error::malformed_response;
      out.description = "no access_token in the answer";
    } else if (out.expires_in.count() == 0) {
      out.error = token_error::malformed_response;
      out.description = "no usable expires_in in the answer";
    } else {
      out.access_token = secret_string(std::string_view(*access));
      if (const auto* refresh = string_member(*object, "refresh_token")) {
        out.refresh_token = secret_string(std::string_view(*refresh));
      }
      if (const auto* type = string_member(*object, "token_type"); type && is_plain_code(*type)) {
        out.token_type = std::string(*type);
      }
      if (const auto* scope = string_member(*object, "scope")) {
        out.scope = printable_excerpt(*scope, 512);
      }
    }
    wipe_string_members(*object);
    return out;
  }
  // 1xx cannot reach here (Beast reads past them); 4xx, 5xx and anything odd.
  out.error = token_error::http_error;
  if (!object) return out;
  const auto* error = string_member(*object, "error");
  const auto* description = string_member(*object, "error_description");
  const std::string_view error_text = error ? std::string_view(*error) : std::string_view{};
  const std::string_view description_text =
      description ? std::string_view(*description) : std::string_view{};
  std::string first_code;
  if (const auto* codes = object->if_contains("error_codes"); codes && codes->is_array() &&
                                                             !codes->as_array().empty()) {
    const auto& first = codes->as_array().front();
    if (first.is_int64() && first.as_int64() >= 0) first_code = std::to_string(first.as_int64());
  }
  if (!error_text.empty()) out.error = class_of(error_text);
  out.provider_code = provider_code(error_text, description_text, first_code.empty() ? nullptr : &first_code);
  // Microsoft's descriptions run over several lines (Trace ID, Correlation ID, Timestamp).
  std::string first_line(description_text.substr(0, description_text.find_first_of("\r\n")));
  redact_secrets(first_line, sent_secrets);
  out.description = printable_excerpt(first_line, max_description_bytes);
  wipe_string_members(*object);
  return out;
}

void redact_secrets(std::string& text, std::initializer_list<std::string_view> secrets) {
  constexpr std::string_view mark = "[redacted]";
  auto replace_all = [&](std::string_view secret) {
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at + mark.size())) {
      text.replace(at, secret.size(), mark);
    }
  };
  for (std::string_view secret : secrets) {
    if (secret.size() < 4) continue;
    replace_all(secret);
    std::string encoded = url_encode(secret);
    if (encoded != secret) replace_all(encoded);
    cleanse(encoded);
  }
}

std::string describe(const token_response& response) {
  std::string out(token_error_name(response.error));
  if (response.ok()) return out;
  out += ": ";
  if (response.http_status != 0) {
    out += "token endpoint answered HTTP " + std::to_string(response.http_status);
  } else {
    out += "no answer from the token endpoint";
  }
  // Microsoft's descriptions start with their code: said once.
  const bool code_in_description = !response.provider_code.empty() &&
                                   response.description.starts_with(response.provider_code);
  const std::string_view code =
      code_in_description ? std::string_view{} : std::string_view(response.provider_code);
  if (!code.empty() || !response.description.empty()) {
    out += " (";
    out += code;
    if (!code.empty() && !response.description.empty()) out += ": ";
    out += response.description;
    out += ")";
  }
  return out;
}

}  // namespace smtp_exporter::probes::oauth
