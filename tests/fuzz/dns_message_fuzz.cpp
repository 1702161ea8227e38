// libFuzzer: the DNS response parser over arbitrary server bytes, for every record type the
// resolver asks. Invariants: no crash, leak, read outside the message or endless compression loop
// (ASan/UBSan, -timeout); an "ok" answer holds records of its type and nothing else; names stay
// within DNS's 255 octets (escapes may double a label's characters).
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "probes/dns/dns_message.hpp"

using namespace smtp_exporter::probes;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using t = dns_record_type;
  for (const t type : {t::a, t::aaaa, t::txt, t::ptr, t::mx}) {
    const dns_answer a = parse_dns_response(data, size, type);
    if (a.outcome != dns_answer::status::ok) {
      if (!a.addresses.empty() || !a.texts.empty() || !a.names.empty()) std::abort();
      continue;
    }
    const bool addresses = type == t::a || type == t::aaaa;
    if (addresses != !a.addresses.empty()) std::abort();
    if ((type == t::txt) != !a.texts.empty()) std::abort();
    if ((type == t::ptr || type == t::mx) != !a.names.empty()) std::abort();
    for (const auto& address : a.addresses) {
      if (address.is_v4() != (type == t::a)) std::abort();
    }
    for (const auto& name : a.names) {
      if (name.size() > 2 * 255) std::abort();
    }
    std::size_t text_bytes = 0;
    for (const auto& text : a.texts) text_bytes += text.size();
    if (text_bytes > size) std::abort();
  }
  return 0;
}
