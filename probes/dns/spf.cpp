#include "probes/dns/spf.hpp"

#include <array>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "common/text_escape.hpp"
#include "probes/dns/address_names.hpp"
#include "probes/dns/spf_macro.hpp"
#include "probes/dns/spf_record.hpp"

namespace smtp_exporter::probes {

namespace asio = boost::asio;
using steady_clock = std::chrono::steady_clock;

namespace {

constexpr std::array<std::string_view, spf_result_count> result_names{
    "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror"};
static_assert(result_names.size() == static_cast<std::size_t>(spf_result::permerror) + 1);

// What check_host() concludes at one level (the top, or an include/redirect target).
struct verdict {
  spf_result result = spf_result::temperror;
  std::string detail;
  std::string mechanism;
};

verdict make(spf_result result, std::string detail, std::string mechanism = {}) {
  return verdict{result, std::move(detail), std::move(mechanism)};
}

// What one term gives: no match, a match (the detail says what matched), or the end of the
// whole evaluation (temperror, permerror).
struct term_result {
  enum class kind { no_match, match, stop } outcome = kind::no_match;
  std::string detail;
  verdict stop;
  static term_result no_match() { return {}; }
  static term_result matched(std::string detail) { return {kind::match, std::move(detail), {}}; }
  static term_result stopped(verdict v) { return {kind::stop, {}, std::move(v)}; }
};

spf_result qualifier_result(spf_qualifier q) {
  switch (q) {
    case spf_qualifier::pass: return spf_result::pass;
    case spf_qualifier::fail: return spf_result::fail;
    case spf_qualifier::softfail: return spf_result::softfail;
    case spf_qualifier::neutral: return spf_result::neutral;
  }
  return spf_result::neutral;
}

bool is_void(const dns_answer& a) {
  return a.outcome == dns_answer::status::nxdomain || a.outcome == dns_answer::status::nodata;
}

bool is_error(const dns_answer& a) { return a.outcome != dns_answer::status::ok && !is_void(a); }

// Whether the first `bits` bits of two addresses of one family agree.
bool in_network(const asio::ip::address& ip, const asio::ip::address& network, int bits) {
  if (ip.is_v4() != network.is_v4()) return false;
  const auto compare = [bits](const auto& a, const auto& b) {
    for (int i = 0; i < bits; ++i) {
      const int byte = i / 8, shift = 7 - i % 8;
      if (((a[byte] >> shift) & 1) != ((b[byte] >> shift) & 1)) return false;
    }
    return true;
  };
  return ip.is_v4() ? compare(ip.to_v4().to_bytes(), network.to_v4().to_bytes())
                    : compare(ip.to_v6().to_bytes(), network.to_v6().to_bytes());
}

bool ends_with_domain(std::string_view name, std::string_view domain) {
  if (name == domain) return true;
  return name.size() > domain.size() && name.substr(name.size() - domain.size()) == domain &&
         name[name.size() - domain.size() - 1] == '.';
}

// A name for a message: names come from records anyone can publish.
std::string shown(std::string_view name) { return printable_excerpt(name, 120); }

// One check_host() evaluation with its limits and counters; lives in check_spf's frame.
class evaluator {
 public:
  evaluator(dns_lookup& dns, spf_macro_values values, steady_clock::time_point deadline,
            spf_outcome& outcome)
      : dns_(dns), values_(std::move(values)), deadline_(deadline), outcome_(outcome) {
    family_ = values_.ip.is_v4() ? dns_record_type::a : dns_record_type::aaaa;
  }

  asio::awaitable<verdict> check_host(std::string domain, int depth) {
    const dns_answer txt = co_await ask(domain, dns_record_type::txt);
    if (is_error(txt)) co_return dns_error(txt, dns_record_type::txt, domain);
    if (is_void(txt)) {
      if (depth > 0) {
        if (auto stop = count_void()) co_return *stop;
      }
      co_return make(spf_result::none, "no SPF record at " + shown(domain));
    }
    const std::string* selected = nullptr;
    int found = 0;
    for (const auto& text : txt.texts) {
      if (!is_spf_record(text)) continue;
      ++found;
      selected = &text;
    }
    if (found > 1) {
      co_return make(spf_result::permerror,
                     std::to_string(found) + " SPF records at " + shown(domain));
    }
    if (!selected) co_return make(spf_result::none, "no SPF record at " + shown(domain));
    std::string error;
    const auto record = parse_spf_record(*selected, &error);
    if (!record) {
      co_return make(spf_result::permerror, "SPF record at " + shown(domain) + ": " + error);
    }
    for (const spf_mechanism& m : record->mechanisms) {
      term_result r = co_await evaluate(m, domain, depth);
      if (r.outcome == term_result::kind::stop) co_return std::move(r.stop);
      if (r.outcome == term_result::kind::match) {
        co_return make(qualifier_result(m.qualifier), std::move(r.detail), m.text);
      }
    }
    if (record->redirect) co_return co_await redirect(*record->redirect, domain, depth);
    co_return make(spf_result::neutral, "no mechanism matched at " + shown(domain));
  }

 private:
  asio::awaitable<dns_answer> ask(const std::string& name, dns_record_type type) {
    if (steady_clock::now() >= deadline_) {
      dns_answer late;
      late.outcome = dns_answer::status::timeout;
      late.error = "evaluation time exceeded";
      co_return late;
    }
    ++outcome_.queries;
    co_return co_await dns_.query(name, type, deadline_);
  }

  static verdict dns_error(const dns_answer& a, dns_record_type type, const std::string& name) {
    return make(spf_result::temperror, std::string(dns_error_class(a.outcome)) + " asking " +
                                           std::string(dns_record_type_name(type)) + " " +
                                           shown(name));
  }

  std::optional<verdict> count_lookup() {
    if (++outcome_.dns_lookups > spf_max_dns_lookups) {
      return make(spf_result::permerror,
                  "more than " + std::to_string(spf_max_dns_lookups) + " DNS lookups");
    }
    return std::nullopt;
  }

  std::optional<verdict> count_void() {
    if (++outcome_.void_lookups > spf_max_void_lookups) {
      return make(spf_result::permerror,
                  "more than " + std::to_string(spf_max_void_lookups) + " void lookups");
    }
    return std::nullopt;
  }

  // The name a domain-spec names at `domain` (the domain itself when the spec is empty), or
  // the permerror of an expansion that failed.
  struct target_name {
    std::string name;
    std::optional<verdict> error;
  };
  asio::awaitable<target_name> target(const std::string& spec, const std::string& domain) {
    target_name out;
    if (spec.empty()) {
      out.name = domain;
      co_return out;
    }
    values_.domain = domain;
    values_.validated_name = "unknown";
    if (uses_validated_name(spec)) {
      std::string p = co_await validated_name(domain);
      values_.validated_name = std::move(p);
    }
    std::string error;
    auto expanded = expand_macros(spec, values_, spf_macro_context::domain, &error);
    if (!expanded) {
      out.error = make(spf_result::permerror, "macro expansion: " + error);
      co_return out;
    }
    out.name = spf_target_name(std::move(*expanded));
    co_return out;
  }

  // Whether `name` has an address record equal to the IP; a DNS error counts as no.
  asio::awaitable<bool> maps_back(const std::string& name) {
    if (!is_queryable_name(name)) co_return false;
    const dns_answer a = co_await ask(name, family_);
    for (const auto& address : a.addresses) {
      if (address == values_.ip) co_return true;
    }
    co_return false;
  }

  // The first 10 PTR names of the IP; none on an error or no answer (5.5: no match).
  struct ptr_answer {
    std::vector<std::string> names;
    bool void_answer = false;
  };
  asio::awaitable<ptr_answer> ptr_names() {
    const dns_answer a = co_await ask(reverse_dns_name(values_.ip), dns_record_type::ptr);
    ptr_answer out;
    out.names = a.names;
    if (out.names.size() > static_cast<std::size_t>(spf_max_names)) {
      out.names.resize(spf_max_names);
    }
    out.void_answer = is_void(a);
    co_return out;
  }

  // %{p} (7.3): a validated PTR name of the IP, the domain itself first, then a subdomain of
  // it, then any; "unknown" when none validates. Kept per domain for the evaluation.
  asio::awaitable<std::string> validated_name(const std::string& domain) {
    if (const auto it = p_cache_.find(domain); it != p_cache_.end()) co_return it->second;
    const ptr_answer ptrs = co_await ptr_names();
    std::vector<std::string> order;
    for (int pass = 0; pass < 3; ++pass) {
      for (const auto& n : ptrs.names) {
        const bool is_domain = n == domain;
        const bool is_subdomain = !is_domain && ends_with_domain(n, domain);
        if ((pass == 0 && is_domain) || (pass == 1 && is_subdomain) ||
            (pass == 2 && !is_domain && !is_subdomain)) {
          order.push_back(n);
        }
      }
    }
    std::string p = "unknown";
    for (const std::string& n : order) {
      const bool valid = co_await maps_back(n);
      if (valid) {
        p = n;
        break;
      }
    }
    p_cache_.emplace(domain, p);
    co_return p;
  }

  asio::awaitable<term_result> evaluate(const spf_mechanism& m, const std::string& domain,
                                        int depth) {
    using k = spf_mechanism_kind;
    switch (m.kind) {
      case k::all: co_return term_result::matched(m.text + " matched");
      case k::ip4:
        co_return values_.ip.is_v4() && in_network(values_.ip, m.network, m.cidr4)
            ? term_result::matched(m.text + " matched")
            : term_result::no_match();
      case k::ip6:
        co_return values_.ip.is_v6() && in_network(values_.ip, m.network, m.cidr6)
            ? term_result::matched(m.text + " matched")
            : term_result::no_match();
      default: break;
    }
    if (auto stop = count_lookup()) co_return term_result::stopped(std::move(*stop));
    target_name t = co_await target(m.domain_spec, domain);
    if (t.error) co_return term_result::stopped(std::move(*t.error));
    const std::string name = std::move(t.name);
    if (m.kind == k::include) co_return co_await include(m, name, depth);
    // A name no query can carry matches nothing (RFC 7208 4.3/1 by analogy; the suite accepts it).
    if (!is_queryable_name(name)) co_return term_result::no_match();
    const int cidr = values_.ip.is_v4() ? m.cidr4 : m.cidr6;
    if (m.kind == k::a || m.kind == k::exists) {
      const dns_record_type type = m.kind == k::exists ? dns_record_type::a : family_;
      const dns_answer a = co_await ask(name, type);
      if (is_error(a)) co_return term_result::stopped(dns_error(a, type, name));
      if (is_void(a)) {
        if (auto stop = count_void()) co_return term_result::stopped(std::move(*stop));
        co_return term_result::no_match();
      }
      if (m.kind == k::exists) co_return term_result::matched(m.text + " matched (" + shown(name) + ")");
      for (const auto& address : a.addresses) {
        if (in_network(values_.ip, address, cidr)) {
          co_return term_result::matched(m.text + " matched (" + shown(name) + ")");
        }
      }
      co_return term_result::no_match();
    }
    if (m.kind == k::mx) co_return co_await mx(m, name, cidr);
    co_return co_await ptr(m, name);
  }

  asio::awaitable<term_result> mx(const spf_mechanism& m, const std::string& name, int cidr) {
    const dns_answer mx = co_await ask(name, dns_record_type::mx);
    if (is_error(mx)) co_return term_result::stopped(dns_error(mx, dns_record_type::mx, name));
    if (is_void(mx)) {
      if (auto stop = count_void()) co_return term_result::stopped(std::move(*stop));
      co_return term_result::no_match();
    }
    if (mx.names.size() > static_cast<std::size_t>(spf_max_names)) {
      co_return term_result::stopped(make(
          spf_result::permerror, "more than " + std::to_string(spf_max_names) +
                                     " MX records at " + shown(name)));
    }
    for (const auto& exchange : mx.names) {
      if (!is_queryable_name(exchange)) continue;  // a null MX (".") names no host
      const dns_answer a = co_await ask(exchange, family_);
      if (is_error(a)) co_return term_result::stopped(dns_error(a, family_, exchange));
      for (const auto& address : a.addresses) {
        if (in_network(values_.ip, address, cidr)) {
          co_return term_result::matched(m.text + " matched (" + shown(exchange) + ")");
        }
      }
    }
    co_return term_result::no_match();
  }

  asio::awaitable<term_result> ptr(const spf_mechanism& m, const std::string& suffix) {
    const ptr_answer ptrs = co_await ptr_names();
    if (ptrs.void_answer) {
      if (auto stop = count_void()) co_return term_result::stopped(std::move(*stop));
    }
    for (const auto& n : ptrs.names) {
      if (!ends_with_domain(n, suffix)) continue;
      const bool valid = co_await maps_back(n);
      if (valid) {
        co_return term_result::matched(m.text + " matched (" + shown(n) + ")");
      }
    }
    co_return term_result::no_match();
  }

  asio::awaitable<term_result> include(const spf_mechanism& m, const std::string& name,
                                       int depth) {
    if (!is_queryable_name(name)) {
      co_return term_result::stopped(
          make(spf_result::permerror, m.text + ": not a domain name: " + shown(name)));
    }
    verdict inner = co_await check_host(name, depth + 1);
    switch (inner.result) {
      case spf_result::pass:
        co_return term_result::matched(m.text + " matched: " + inner.detail);
      case spf_result::fail:
      case spf_result::softfail:
      case spf_result::neutral: co_return term_result::no_match();
      case spf_result::none:
        co_return term_result::stopped(
            make(spf_result::permerror, m.text + ": no SPF record at " + shown(name)));
      case spf_result::temperror:
      case spf_result::permerror: break;
    }
    co_return term_result::stopped(std::move(inner));
  }

  asio::awaitable<verdict> redirect(const std::string& spec, const std::string& domain,
                                    int depth) {
    if (auto stop = count_lookup()) co_return std::move(*stop);
    target_name t = co_await target(spec, domain);
    if (t.error) co_return std::move(*t.error);
    const std::string name = std::move(t.name);
    if (!is_queryable_name(name)) {
      co_return make(spf_result::permerror, "redirect=" + shown(spec) + ": not a domain name");
    }
    verdict inner = co_await check_host(name, depth + 1);
    if (inner.result == spf_result::none) {
      co_return make(spf_result::permerror, "redirect=" + shown(name) + ": no SPF record");
    }
    inner.detail = "redirect=" + shown(name) + ": " + inner.detail;
    co_return inner;
  }

  dns_lookup& dns_;
  spf_macro_values values_;
  steady_clock::time_point deadline_;
  spf_outcome& outcome_;
  dns_record_type family_;
  std::map<std::string, std::string> p_cache_;
};

std::string epoch_seconds() {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
}

}  // namespace

std::string_view spf_result_name(spf_result r) {
  return result_names[static_cast<std::size_t>(r)];
}

bool is_valid_spf_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (!is_queryable_name(domain) || domain.find('.') == std::string_view::npos) return false;
  for (const char c : domain) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

asio::awaitable<spf_outcome> check_spf(dns_lookup& dns, asio::ip::address ip, std::string domain,
                                       std::string sender, std::string helo,
                                       std::chrono::milliseconds timeout) {
  spf_outcome outcome;
  if (!is_valid_spf_domain(domain)) {
    outcome.result = spf_result::none;
    outcome.detail = "not a valid domain name: " + shown(domain);
    co_return outcome;
  }
  domain = normalized_dns_name(domain);

  spf_macro_values values;
  values.ip = unmapped(ip);
  if (sender.empty()) sender = "postmaster@" + domain;
  const std::size_t at = sender.rfind('@');
  values.local_part = at == std::string::npos ? std::string() : sender.substr(0, at);
  values.sender_domain = at == std::string::npos ? sender : sender.substr(at + 1);
  if (values.local_part.empty()) values.local_part = "postmaster";
  values.sender = values.local_part + "@" + values.sender_domain;
  values.helo = std::move(helo);
  values.timestamp = epoch_seconds();

  evaluator e(dns, std::move(values), steady_clock::now() + timeout, outcome);
  verdict v = co_await e.check_host(domain, 0);
  outcome.result = v.result;
  outcome.detail = std::move(v.detail);
  outcome.mechanism = std::move(v.mechanism);
  co_return outcome;
}

}  // namespace smtp_exporter::probes
