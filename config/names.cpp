// Stable strings for the config enums: they appear in the TOML schema and as metric label values,
// so they change only together with docs/configuration.md.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <optional>
#include <string>
#include <string_view>

#include "config/config.hpp"

namespace smtp_exporter::config {

std::string_view to_string(tls_mode mode) {
  switch (mode) {
    case tls_mode::none: return "none";
    case tls_mode::starttls: return "starttls";
    case tls_mode::implicit: return "implicit";
  }
  return "unknown";
}

std::string_view to_string(ip_family f) {
  switch (f) {
    case ip_family::none: return "";
    case ip_family::ipv4: return "ipv4";
    case ip_family::ipv6: return "ipv6";
  }
  return "";
}

std::string_view to_string(probe p) {
  const auto i = static_cast<std::size_t>(p);
  return i < probe_names.size() ? probe_names[i] : "unknown";
}

std::string_view to_string(auth_mechanism m) {
  switch (m) {
    case auth_mechanism::automatic: return "auto";
    case auth_mechanism::plain: return "PLAIN";
    case auth_mechanism::login: return "LOGIN";
    case auth_mechanism::cram_md5: return "CRAM-MD5";
    case auth_mechanism::xoauth2: return "XOAUTH2";
    case auth_mechanism::oauthbearer: return "OAUTHBEARER";
  }
  return "unknown";
}

std::string_view to_string(oauth2_flow f) {
  switch (f) {
    case oauth2_flow::refresh_token: return "refresh_token";
    case oauth2_flow::client_credentials: return "client_credentials";
    case oauth2_flow::service_account: return "service_account";
  }
  return "unknown";
}

namespace {

// Enums here are dense from 0, so trying each value in turn is the whole inverse.
template <class Enum, std::size_t count, class Equal>
std::optional<Enum> parse_enum(std::string_view text, Equal equal) {
  for (std::size_t i = 0; i < count; ++i) {
    const auto value = static_cast<Enum>(i);
    if (equal(to_string(value), text)) return value;
  }
  return std::nullopt;
}

bool equals(std::string_view a, std::string_view b) { return a == b; }

// SASL mechanism names are case-insensitive (RFC 4422), so the config accepts "plain" too.
bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) {
  const auto lower = [](char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  };
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                            [&](char x, char y) { return lower(x) == lower(y); });
}

}  // namespace

std::optional<tls_mode> parse_tls_mode(std::string_view text) {
  return parse_enum<tls_mode, 3>(text, equals);
}

std::optional<probe> parse_probe(std::string_view text) {
  return parse_enum<probe, probe_count>(text, equals);
}

std::optional<auth_mechanism> parse_auth_mechanism(std::string_view text) {
  return parse_enum<auth_mechanism, 6>(text, equals_ignoring_ascii_case);
}

std::optional<oauth2_flow> parse_oauth2_flow(std::string_view text) {
  return parse_enum<oauth2_flow, 3>(text, equals);
}

std::string default_ehlo_name() {
#ifdef HOST_NAME_MAX
  char buffer[HOST_NAME_MAX + 1] = {};
#else
  char buffer[256] = {};
#endif
  // POSIX leaves truncation unterminated; the last byte stays 0 because we never hand it over.
  if (::gethostname(buffer, sizeof buffer - 1) != 0 || buffer[0] == '\0') return "localhost";
  return buffer;
}

}  // namespace smtp_exporter::config
