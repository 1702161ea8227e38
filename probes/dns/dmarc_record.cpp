// The pure half of probes/dns/dmarc.hpp: record selection and the tag parser (fuzzed alone, in
// tests/fuzz/spf_record_fuzz.cpp); dmarc.cpp asks DNS.
#include "probes/dns/dmarc.hpp"

#include <array>
#include <set>
#include <vector>

#include "common/ascii.hpp"
#include "common/text_escape.hpp"

namespace smtp_exporter::probes {

namespace {

constexpr std::array<std::string_view, 5> status_names{"present", "absent", "malformed",
                                                       "multiple", "error"};
static_assert(status_names.size() == static_cast<std::size_t>(dmarc_outcome::status::error) + 1);

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && is_wsp(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_wsp(text.back())) text.remove_suffix(1);
  return text;
}

struct tag {
  std::string name;  // lower case
  std::string_view value;
};

// The tags of a tag list, or nullopt with the reason.
std::optional<std::vector<tag>> tags_of(std::string_view txt, std::string* error) {
  std::vector<tag> tags;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= txt.size(); ++i) {
    if (i < txt.size() && txt[i] != ';') continue;
    const std::string_view part = trimmed(txt.substr(start, i - start));
    start = i + 1;
    if (part.empty()) continue;  // "p=none;" and "; ;" are allowed
    const std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      if (error) *error = "tag \"" + std::string(part.substr(0, 40)) + "\" has no '='";
      return std::nullopt;
    }
    tags.push_back(tag{ascii_lower(trimmed(part.substr(0, eq))), trimmed(part.substr(eq + 1))});
  }
  return tags;
}

bool is_policy(std::string_view value) {
  const std::string v = ascii_lower(value);
  return v == "none" || v == "quarantine" || v == "reject";
}

std::string shown(std::string_view value) { return "\"" + printable_excerpt(value, 40) + "\""; }

}  // namespace

bool is_dmarc_record(std::string_view txt) {
  std::string_view first = trimmed(txt.substr(0, txt.find(';')));
  const std::size_t eq = first.find('=');
  if (eq == std::string_view::npos) return false;
  return ascii_lower(trimmed(first.substr(0, eq))) == "v" && trimmed(first.substr(eq + 1)) == "DMARC1";
}

std::optional<dmarc_record> parse_dmarc(std::string_view txt, std::string* error) {
  const auto fail = [error](std::string reason) {
    if (error) *error = std::move(reason);
    return std::nullopt;
  };
  if (!is_dmarc_record(txt)) return fail("does not start with v=DMARC1");
  std::string tag_error;
  const auto tags = tags_of(txt, &tag_error);
  if (!tags) return fail(tag_error);
  dmarc_record record;
  std::set<std::string> seen;
  bool has_policy = false;
  for (const tag& t : *tags) {
    if (!seen.insert(t.name).second) return fail("tag " + t.name + "= appears twice");
    if (t.name == "p" || t.name == "sp") {
      if (!is_policy(t.value)) {
        return fail(t.name + "=" + shown(t.value) + " is not none, quarantine or reject");
      }
      (t.name == "p" ? record.policy : record.subdomain_policy) = ascii_lower(t.value);
      has_policy = has_policy || t.name == "p";
    } else if (t.name == "pct") {
      int value = -1;
      if (!t.value.empty() && t.value.size() <= 3) {
        value = 0;
        for (const char c : t.value) {
          value = (c >= '0' && c <= '9' && value >= 0) ? value * 10 + (c - '0') : -1;
        }
      }
      if (value < 0 || value > 100) return fail("pct=" + shown(t.value) + " is not 0 to 100");
      record.pct = value;
    } else if (t.name == "adkim" || t.name == "aspf") {
      const std::string v = ascii_lower(t.value);
      if (v != "r" && v != "s") return fail(t.name + "=" + shown(t.value) + " is not r or s");
    } else if (t.name == "rua") {
      record.rua = !t.value.empty();
    }
  }
  if (!has_policy) return fail("no p= tag");
  return record;
}

std::string dmarc_outcome::policy() const {
  if (outcome != status::present) return {};
  if (from_organizational_domain && !record.subdomain_policy.empty()) {
    return record.subdomain_policy;
  }
  return record.policy;
}

std::string_view dmarc_status_name(dmarc_outcome::status s) {
  return status_names[static_cast<std::size_t>(s)];
}

}  // namespace smtp_exporter::probes
