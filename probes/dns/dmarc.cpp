#include "probes/dns/dmarc.hpp"

#include <vector>

#include "common/text_escape.hpp"
#include "probes/dns/spf_macro.hpp"

namespace smtp_exporter::probes {

namespace asio = boost::asio;
using steady_clock = std::chrono::steady_clock;

namespace {

// Reads the DMARC records of one TXT answer into `out`; false when there is none (go on).
bool read_records(const dns_answer& answer, const std::string& name, dmarc_outcome& out) {
  std::vector<const std::string*> records;
  for (const auto& text : answer.texts) {
    if (is_dmarc_record(text)) records.push_back(&text);
  }
  if (records.empty()) return false;
  out.found_at = name;
  if (records.size() > 1) {
    out.outcome = dmarc_outcome::status::multiple;
    out.detail = std::to_string(records.size()) + " DMARC records at " + name;
    return true;
  }
  std::string error;
  if (auto record = parse_dmarc(*records.front(), &error)) {
    out.outcome = dmarc_outcome::status::present;
    out.record = std::move(*record);
    out.detail = "p=" + out.record.policy + " at " + name;
  } else {
    out.outcome = dmarc_outcome::status::malformed;
    out.error = error;
    out.detail = "DMARC record at " + name + ": " + error;
  }
  return true;
}

}  // namespace

asio::awaitable<dmarc_outcome> check_dmarc(dns_lookup& dns, const public_suffix_list& psl,
                                           std::string domain,
                                           std::chrono::milliseconds timeout) {
  dmarc_outcome out;
  const auto deadline = steady_clock::now() + timeout;
  domain = normalized_dns_name(domain);
  const std::string organizational = psl.organizational_domain(domain);
  std::vector<std::string> names;
  names.push_back("_dmarc." + domain);
  if (!organizational.empty() && organizational != domain) {
    names.push_back("_dmarc." + organizational);
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (!is_queryable_name(name)) {
      out.outcome = dmarc_outcome::status::error;
      out.error = "invalid_domain";
      out.detail = "not a domain name: " + printable_excerpt(domain, 120);
      co_return out;
    }
    ++out.queries;
    const dns_answer answer = co_await dns.query(name, dns_record_type::txt, deadline);
    const std::string_view error_class = dns_error_class(answer.outcome);
    if (!error_class.empty()) {
      out.outcome = dmarc_outcome::status::error;
      out.error = std::string(error_class);
      out.detail = std::string(error_class) + " asking TXT " + name;
      co_return out;
    }
    out.from_organizational_domain = i > 0;
    if (read_records(answer, name, out)) co_return out;
  }
  out.outcome = dmarc_outcome::status::absent;
  out.from_organizational_domain = false;
  out.detail = "no DMARC record at " + names.front() +
               (names.size() > 1 ? " or " + names.back() : std::string());
  co_return out;
}

}  // namespace smtp_exporter::probes
