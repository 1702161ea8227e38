#include "probes/smtp/ehlo.hpp"

#include <charconv>
#include <cstdint>
#include <string_view>

namespace smtp_exporter::probes {
namespace {

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string_view skip_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  return s;
}

// Splits off the next blank-separated token.
std::string_view next_token(std::string_view& s) {
  s = skip_blanks(s);
  std::size_t end = 0;
  while (end < s.size() && !is_blank(s[end])) ++end;
  const std::string_view token = s.substr(0, end);
  s.remove_prefix(end);
  return token;
}

void add_mechanisms(capabilities& caps, std::string_view params) {
  for (std::string_view name = next_token(params); !name.empty(); name = next_token(params)) {
    if (const auto mechanism = parse_auth_mechanism(name)) caps.add(*mechanism);
  }
}

void parse_size(capabilities& caps, std::string_view params) {
  const std::string_view value = next_token(params);
  std::uint64_t limit = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), limit);
  // A bad or overflowing argument says nothing reliable; keep the extension, drop the number.
  if (error == std::errc{} && end == value.data() + value.size()) caps.size_limit = limit;
}

}  // namespace

capabilities parse_ehlo(const smtp_reply& reply) {
  capabilities caps;
  // lines[0] is "mx.example.com greets you": a host name, never a keyword.
  for (std::size_t i = 1; i < reply.lines.size(); ++i) {
    std::string_view line = skip_blanks(reply.lines[i]);
    std::size_t end = 0;
    while (end < line.size() && !is_blank(line[end]) && line[end] != '=') ++end;
    const auto ext = parse_extension(line.substr(0, end));
    if (!ext) continue;
    caps.add(*ext);

    // "AUTH=LOGIN PLAIN" was how pre-RFC 2554 drafts advertised AUTH; old clients still need it.
    std::string_view params = line.substr(end);
    if (!params.empty() && params.front() == '=') params.remove_prefix(1);
    if (*ext == extension::auth) {
      add_mechanisms(caps, params);
    } else if (*ext == extension::size) {
      parse_size(caps, params);
    }
  }
  return caps;
}

}  // namespace smtp_exporter::probes
