// libFuzzer: the Authentication-Results parser (RFC 8601) over arbitrary header values: comments
// nested to any depth, unterminated quotes, stray separators. Invariants: no crash, leak or
// unbounded recursion (ASan/UBSan), results within the cap, and nothing longer than the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "probes/imap/auth_results.hpp"

using namespace smtp_exporter::probes::imap;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t cap = 8;
  auto r = parse_authentication_results(text, cap);
  if (!r) return 0;
  if (r->results.size() > cap || r->authserv_id.empty() || r->authserv_id.size() > size) std::abort();
  for (const auto& m : r->results) {
    if (m.method.empty() || m.result.empty() || m.properties.size() > 16) std::abort();
    if (m.method.size() + m.result.size() + m.reason.size() > size) std::abort();
  }
  (void)find_method(*r, "dmarc");
  return 0;
}
