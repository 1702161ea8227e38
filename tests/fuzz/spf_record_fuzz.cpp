// libFuzzer: the SPF record parser, the macro syntax check and expansion, domain-spec syntax and
// the DMARC tag parser over arbitrary TXT bytes (anyone can publish any record). Invariants: no
// crash, leak or unbounded growth (ASan/UBSan); a parsed record holds no more terms than the text
// has; a macro-string the syntax check refuses does not expand, and one it accepts expands unless
// the expansion would pass max_macro_expansion.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "probes/dns/dmarc.hpp"
#include "probes/dns/spf_macro.hpp"
#include "probes/dns/spf_record.hpp"

using namespace smtp_exporter::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto record = parse_spf_record(text)) {
    if (record->mechanisms.size() > size / 2) std::abort();
    for (const auto& m : record->mechanisms) {
      if (m.text.empty() || m.cidr4 < 0 || m.cidr4 > 32 || m.cidr6 < 0 || m.cidr6 > 128) {
        std::abort();
      }
      if (!m.domain_spec.empty() && domain_spec_error(m.domain_spec)) std::abort();
    }
  }
  spf_macro_values values;
  values.sender = "local-part@example.com";
  values.local_part = "local-part";
  values.sender_domain = values.domain = "example.com";
  values.ip = boost::asio::ip::make_address("2001:db8::1");
  values.helo = std::string(text.substr(0, 64));
  for (const auto context : {spf_macro_context::domain, spf_macro_context::explanation}) {
    const bool valid = !macro_string_error(text, context);
    const auto expanded = expand_macros(text, values, context);
    if (expanded && expanded->size() > max_macro_expansion) std::abort();
    if (!valid && expanded) std::abort();
    // A macro ("%{x}", 4 bytes) expands to at most 192 bytes here (a 64-byte value, URL-escaped):
    // 48 times its size. Past that a valid string may exceed the bound and fail, as it should.
    if (valid && !expanded && size * 48 < max_macro_expansion) std::abort();
  }
  (void)domain_spec_error(text);
  (void)uses_validated_name(text);
  const std::string target = spf_target_name(std::string(text));
  if (target.size() > size) std::abort();
  (void)is_queryable_name(target);
  (void)parse_dmarc(text);
  return 0;
}
