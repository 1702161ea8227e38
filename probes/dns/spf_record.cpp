#include "probes/dns/spf_record.hpp"

#include <cstdio>

#include "common/ascii.hpp"
#include "probes/dns/spf_macro.hpp"

namespace smtp_exporter::probes {

namespace asio = boost::asio;

namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The number of a CIDR length: digits without a leading zero (RFC 7208 5.6/2 forbids it in
// addresses, and the suite reads the same into lengths), at most `max`. -1 when invalid.
int cidr_length(std::string_view digits, int max) {
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0')) return -1;
  int value = 0;
  for (const char c : digits) {
    if (!is_digit(c)) return -1;
    value = value * 10 + (c - '0');
  }
  return value <= max ? value : -1;
}

// Splits "/N" off the end of `text` when the text ends in '/' and digits; returns the digits
// ("" when there is no such suffix) and leaves the rest in `text`.
std::string_view take_cidr_suffix(std::string_view& text) {
  std::size_t i = text.size();
  while (i > 0 && is_digit(text[i - 1])) --i;
  if (i == text.size() || i == 0 || text[i - 1] != '/') return {};
  const std::string_view digits = text.substr(i);
  text = text.substr(0, i - 1);
  return digits;
}

// ip4-network (RFC 7208 5.6): four decimal octets, no leading zeros.
std::optional<asio::ip::address> parse_ip4(std::string_view text) {
  asio::ip::address_v4::bytes_type bytes{};
  std::size_t octet = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && text[i] != '.') continue;
    const std::string_view part = text.substr(start, i - start);
    if (octet >= 4 || part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')) {
      return std::nullopt;
    }
    int value = 0;
    for (const char c : part) {
      if (!is_digit(c)) return std::nullopt;
      value = value * 10 + (c - '0');
    }
    if (value > 255) return std::nullopt;
    bytes[octet++] = static_cast<unsigned char>(value);
    start = i + 1;
  }
  if (octet != 4) return std::nullopt;
  return asio::ip::address(asio::ip::address_v4(bytes));
}

// ip6-network: RFC 4291 text (inet_pton), without a zone index.
std::optional<asio::ip::address> parse_ip6(std::string_view text) {
  if (text.empty() || text.size() > 45) return std::nullopt;
  for (const char c : text) {
    const bool hex = is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!hex && c != ':' && c != '.') return std::nullopt;
  }
  boost::system::error_code ec;
  const auto address = asio::ip::make_address_v6(std::string(text), ec);
  if (ec) return std::nullopt;
  return asio::ip::address(address);
}

// name "=" at the start of a term (RFC 7208 12: name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )).
std::size_t modifier_name_length(std::string_view term) {
  if (term.empty() || !is_alpha(term[0])) return 0;
  std::size_t i = 1;
  while (i < term.size() && (is_alpha(term[i]) || is_digit(term[i]) || term[i] == '-' ||
                             term[i] == '_' || term[i] == '.')) {
    ++i;
  }
  return i < term.size() && term[i] == '=' ? i : 0;
}

std::string quoted(std::string_view term) { return "\"" + std::string(term) + "\""; }

bool fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return false;
}

// A domain-spec after "name:"; `args` is what follows the mechanism's name.
bool read_domain_spec(std::string_view args, std::string_view term, bool required,
                      spf_mechanism& m, std::string* error) {
  if (args.empty()) {
    return required ? fail(error, quoted(term) + " needs \":domain\"") : true;
  }
  if (args[0] != ':') return fail(error, "unexpected text in " + quoted(term));
  const std::string_view spec = args.substr(1);
  if (auto problem = domain_spec_error(spec)) return fail(error, quoted(term) + ": " + *problem);
  m.domain_spec = std::string(spec);
  return true;
}

bool parse_mechanism(std::string_view term, spf_mechanism& m, std::string* error) {
  std::string_view rest = term;
  if (rest[0] == '+' || rest[0] == '-' || rest[0] == '~' || rest[0] == '?') {
    m.qualifier = static_cast<spf_qualifier>(rest[0]);
    rest.remove_prefix(1);
  }
  const std::size_t name_end = std::min(rest.find(':'), rest.find('/'));
  const std::string name = ascii_lower(rest.substr(0, name_end));
  std::string_view args = name_end == std::string_view::npos ? std::string_view{}
                                                             : rest.substr(name_end);
  using k = spf_mechanism_kind;
  if (name == "all") {
    m.kind = k::all;
    return args.empty() ? true : fail(error, quoted(term) + ": \"all\" takes no argument");
  }
  if (name == "include" || name == "exists") {
    m.kind = name == "include" ? k::include : k::exists;
    return read_domain_spec(args, term, true, m, error);
  }
  if (name == "ptr") {
    m.kind = k::ptr;
    return read_domain_spec(args, term, false, m, error);
  }
  if (name == "a" || name == "mx") {
    m.kind = name == "a" ? k::a : k::mx;
    // dual-cidr-length = [ "/" ip4-cidr ] [ "//" ip6-cidr ], taken off the end.
    std::string_view digits = take_cidr_suffix(args);
    if (!digits.empty() && !args.empty() && args.back() == '/') {
      args.remove_suffix(1);
      if ((m.cidr6 = cidr_length(digits, 128)) < 0) {
        return fail(error, quoted(term) + ": invalid IPv6 CIDR length");
      }
      digits = take_cidr_suffix(args);
    }
    if (!digits.empty() && (m.cidr4 = cidr_length(digits, 32)) < 0) {
      return fail(error, quoted(term) + ": invalid IPv4 CIDR length");
    }
    return read_domain_spec(args, term, false, m, error);
  }
  if (name == "ip4" || name == "ip6") {
    const bool v4 = name == "ip4";
    m.kind = v4 ? k::ip4 : k::ip6;
    if (args.empty() || args[0] != ':') return fail(error, quoted(term) + " needs \":address\"");
    args.remove_prefix(1);
    const std::string_view digits = take_cidr_suffix(args);
    if (!digits.empty()) {
      int& length = v4 ? m.cidr4 : m.cidr6;
      if ((length = cidr_length(digits, v4 ? 32 : 128)) < 0) {
        return fail(error, quoted(term) + ": invalid CIDR length");
      }
    }
    const auto network = v4 ? parse_ip4(args) : parse_ip6(args);
    if (!network) return fail(error, quoted(term) + ": invalid address");
    m.network = *network;
    return true;
  }
  return fail(error, "unknown mechanism " + quoted(term));
}

}  // namespace

bool spf_mechanism::counts_as_lookup() const {
  using k = spf_mechanism_kind;
  return kind == k::include || kind == k::a || kind == k::mx || kind == k::ptr ||
         kind == k::exists;
}

bool is_spf_record(std::string_view txt) {
  return txt.size() >= 6 && ascii_lower(txt.substr(0, 6)) == "v=spf1" &&
         (txt.size() == 6 || txt[6] == ' ');
}

std::optional<spf_record> parse_spf_record(std::string_view text, std::string* error) {
  if (text.size() > max_spf_record_size) {
    fail(error, "record longer than " + std::to_string(max_spf_record_size) + " bytes");
    return std::nullopt;
  }
  if (!is_spf_record(text)) {
    fail(error, "not an SPF record (no \"v=spf1\")");
    return std::nullopt;
  }
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte > 0x7e) {
      char buffer[8];
      std::snprintf(buffer, sizeof buffer, "0x%02x", byte);
      fail(error, std::string("character ") + buffer + " (records are printable ASCII)");
      return std::nullopt;
    }
  }
  spf_record record;
  std::size_t pos = 6;
  while (pos < text.size()) {
    if (text[pos] == ' ') {
      ++pos;
      continue;
    }
    const std::size_t end = std::min(text.find(' ', pos), text.size());
    const std::string_view term = text.substr(pos, end - pos);
    pos = end;
    if (const std::size_t name_length = modifier_name_length(term); name_length != 0) {
      const std::string name = ascii_lower(term.substr(0, name_length));
      const std::string_view value = term.substr(name_length + 1);
      if (name == "redirect" || name == "exp") {
        auto& slot = name == "redirect" ? record.redirect : record.explanation;
        if (slot) {
          fail(error, name + "= given twice");
          return std::nullopt;
        }
        if (auto problem = domain_spec_error(value)) {
          fail(error, quoted(term) + ": " + *problem);
          return std::nullopt;
        }
        slot = std::string(value);
      } else if (auto problem = macro_string_error(value, spf_macro_context::explanation)) {
        fail(error, quoted(term) + ": " + *problem);
        return std::nullopt;
      }
      continue;  // unknown modifiers are ignored (RFC 7208 6)
    }
    spf_mechanism m;
    m.text = std::string(term);
    if (!parse_mechanism(term, m, error)) return std::nullopt;
    record.mechanisms.push_back(std::move(m));
  }
  return record;
}

}  // namespace smtp_exporter::probes
