#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include "probes/core/result.hpp"

#include <algorithm>
#include <cstddef>

namespace smtp_exporter::probes {
namespace {

// Indexed by the enumerator's value, so a lookup is an array access. The static_asserts below
// catch an enum that grows without its table.
constexpr std::array<std::string_view, failure_reason_count> failure_reason_names{
#define SMTP_EXPORTER_NAME(name) #name,
    SMTP_EXPORTER_FAILURE_REASONS(SMTP_EXPORTER_NAME)
#undef SMTP_EXPORTER_NAME
};
static_assert(failure_reason_names[0] == "none");

constexpr std::array<std::string_view, extension_count> extension_names{
    "STARTTLS", "AUTH", "SIZE", "PIPELINING", "8BITMIME", "SMTPUTF8", "CHUNKING", "DSN",
    "ENHANCEDSTATUSCODES", "REQUIRETLS", "BINARYMIME", "DELIVERBY", "ETRN", "MT-PRIORITY", "VRFY",
    "HELP",
};
static_assert(static_cast<std::size_t>(extension::help) + 1 == extension_count);
// capabilities keeps one bit per value in a 32-bit word.
static_assert(extension_count <= 32 && auth_mechanism_count <= 32);

constexpr std::array<std::string_view, auth_mechanism_count> auth_mechanism_names{
    "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2", "OAUTHBEARER", "SCRAM-SHA-1", "SCRAM-SHA-256",
    "NTLM",  "GSSAPI",
};
static_assert(static_cast<std::size_t>(auth_mechanism::gssapi) + 1 == auth_mechanism_count);

// An out-of-range value can only come from a cast; a fixed string keeps label values bounded.
constexpr std::string_view unknown_name = "unknown";

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::string_view, N>& names, Enum value) {
  const auto index = static_cast<std::size_t>(value);
  return index < N ? names[index] : unknown_name;
}

constexpr char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// ASCII only on purpose: protocol keywords are ASCII and the locale must not change matching.
bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

template <typename Enum, std::size_t N>
std::optional<Enum> parse_name(const std::array<std::string_view, N>& names, std::string_view s) {
  for (std::size_t i = 0; i < N; ++i) {
    if (iequals(names[i], s)) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(failure_reason r) {
  return r == failure_reason::none ? "success" : name_of(failure_reason_names, r);
}

std::optional<failure_reason> parse_failure_reason(std::string_view s) {
  if (iequals(s, "success")) return failure_reason::none;
  if (iequals(s, "none")) return std::nullopt;
  return parse_name<failure_reason>(failure_reason_names, s);
}

std::string_view to_string(probe_kind p) { return name_of(probe_kind_names, p); }

std::string_view to_string(phase p) { return name_of(phase_names, p); }

std::string_view to_string(extension e) { return name_of(extension_names, e); }

std::optional<extension> parse_extension(std::string_view keyword) {
  return parse_name<extension>(extension_names, keyword);
}

std::string_view to_string(auth_mechanism m) { return name_of(auth_mechanism_names, m); }

std::optional<auth_mechanism> parse_auth_mechanism(std::string_view name) {
  return parse_name<auth_mechanism>(auth_mechanism_names, name);
}

bool descriptors_exhausted_now() {
  // A socket is what the failed step needed; opening one tells whether it could have.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    ::close(fd);
    return false;
  }
  return errno == EMFILE || errno == ENFILE;
}

}  // namespace smtp_exporter::probes
